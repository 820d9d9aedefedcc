"""Performance predictors: zero-cost proxies, zero-cost ensembles, model-based regressors and
learning-curve predictors behind one protocol (:mod:`nasearch.predictors.base`)."""
from nasearch.predictors.base import Predictor, PredictorNeeds
from nasearch.predictors.registry import available_predictors, make_predictor

__all__ = ["Predictor", "PredictorNeeds", "available_predictors", "make_predictor"]

"""The analysis of results: everything after the run record.

The flow of a report, one module a step:

* :mod:`~nasearch.analysis.reading`: an experiment's folder -> typed :class:`~nasearch.results.RunRecord` s
  per searcher, its typed ``experiment.json`` (:class:`ExperimentInfo`, with the :class:`ReportSpec`
  the experiment declared) and its wall-time record;
* :mod:`~nasearch.analysis.stats`: the statistics (paired and unpaired tests, bootstrap CIs, anytime
  curves), and :mod:`~nasearch.analysis.pairs`: what a baseline/treatment pair is for (its role);
* :mod:`~nasearch.analysis.reference`: published numbers (``nasearch/data/papers``) beside ours, only
  where the experiment declares a reference;
* :mod:`~nasearch.analysis.report`: the markdown, CSV and figures (:mod:`~nasearch.analysis.plots`).
"""

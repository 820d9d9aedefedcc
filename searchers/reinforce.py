"""REINFORCE (Williams, 1992) as AutoDL's NAS-Bench-201 scripts run it; with the hook, G-REINFORCE.

The policy is factorised: one softmax per categorical choice of the space (one per NB201
edge, over its ops), logits initialised to ``1e-3 * N(0, 1)``. Each step samples one
architecture, trains (queries) it, and takes one Adam step (lr 0.01, betas 0.9/0.999) on
``-log p(arch) * (reward - baseline)``, where the reward is the queried fitness (validation
accuracy) and the baseline a bias-corrected exponential moving average (momentum 0.9) that
is updated with the reward *before* the loss is formed, exactly as AutoDL's
``ExponentialMovingAverage``. The gradient of a categorical log-probability with respect to
its logits is ``onehot(a) - softmax``, so the step is computed in closed form in numpy:
no autograd is needed for a 6x5 table, and 500 runs take seconds.

G-REINFORCE (GradSign paper, Algorithm 4): sample one architecture from the policy, build a
pool of K *mutations* of it (``space.mutate``), let the proxy pick the best of them, train
that one, and update the policy with the log-probability of the trained architecture. The
unassisted searcher trains the policy's sample itself. Every random draw comes from the
run's generator.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from nasearch.searchers.base import POSITIVE, Bound, Searcher, Trial
from nasearch.spaces.protocol import Evaluation


class CategoricalPolicy:
    """Independent softmaxes over ``sizes[i]`` options each, padded into one logit table."""

    def __init__(self, sizes: Sequence[int], rng: np.random.Generator, init_scale: float = 1e-3) -> None:
        if not sizes or min(sizes) < 1:
            raise ValueError(f"every categorical choice needs at least one option, got sizes {list(sizes)}")
        self.sizes = np.asarray(sizes, dtype=int)
        width = int(self.sizes.max())
        self.valid = np.arange(width)[None, :] < self.sizes[:, None]
        self.logits = np.where(self.valid, init_scale * rng.standard_normal((len(sizes), width)), 0.0)

    def probabilities(self) -> np.ndarray:
        masked = np.where(self.valid, self.logits, -np.inf)
        shifted = np.exp(masked - masked.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def sample(self, rng: np.random.Generator) -> tuple[int, ...]:
        """One option per choice by inverse CDF: one uniform per choice, in order."""
        cumulative = np.cumsum(self.probabilities(), axis=1)
        uniforms = rng.random(len(self.sizes))
        picks = (cumulative < uniforms[:, None]).sum(axis=1)
        return tuple(int(min(p, s - 1)) for p, s in zip(picks, self.sizes))

    def log_prob(self, action: Sequence[int]) -> float:
        probs = self.probabilities()
        return float(np.sum(np.log(probs[np.arange(len(self.sizes)), list(action)])))

    def log_prob_gradient(self, action: Sequence[int]) -> np.ndarray:
        """d log p(action) / d logits = onehot(action) - softmax, per choice (0 on padding)."""
        grad = -self.probabilities()
        grad[np.arange(len(self.sizes)), list(action)] += 1.0
        return np.where(self.valid, grad, 0.0)


class Adam:
    """torch.optim.Adam's update (no weight decay, no amsgrad) on one numpy array."""

    def __init__(self, shape: tuple[int, ...], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, betas[0], betas[1], eps
        self.m = np.zeros(shape)
        self.v = np.zeros(shape)
        self.steps = 0

    def step(self, params: np.ndarray, grad: np.ndarray) -> None:
        """Minimise: ``params -= lr * m_hat / (sqrt(v_hat) + eps)`` in place."""
        self.steps += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad * grad
        m_hat = self.m / (1 - self.beta1**self.steps)
        v_hat = self.v / (1 - self.beta2**self.steps)
        params -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class MovingAverageBaseline:
    """AutoDL's bias-corrected EMA: numerator and denominator decay alike, so the first value is the reward."""

    def __init__(self, momentum: float) -> None:
        self.momentum = momentum
        self.numerator = 0.0
        self.denominator = 0.0

    def update(self, value: float) -> None:
        self.numerator = self.momentum * self.numerator + (1 - self.momentum) * value
        self.denominator = self.momentum * self.denominator + (1 - self.momentum)

    @property
    def value(self) -> float:
        return self.numerator / self.denominator


class Reinforce(Searcher):
    """REINFORCE over a categorical space; G-REINFORCE when the run has a pool hook."""

    name = "reinforce"
    requires = ("encoding",)
    bounds = {"learning_rate": POSITIVE, "momentum": Bound(0, 1, high_open=True)}

    def __init__(self, space: Any, pool: Any = None, learning_rate: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(space, pool)
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.sizes = [len(options) for options in space.choices()]
        if not self.sizes:
            raise ValueError(f"space {space.name!r} reports no categorical choices; REINFORCE needs at least one")
        self.learning_rate = learning_rate
        self.baseline = MovingAverageBaseline(momentum)
        self.policy: CategoricalPolicy | None = None  # built on the first propose, from the run's rng
        self.optimizer: Adam | None = None
        self.updates = 0

    def propose(self, rng: np.random.Generator) -> Trial:
        if self.policy is None:
            self.policy = CategoricalPolicy(self.sizes, rng)
            self.optimizer = Adam(self.policy.logits.shape, self.learning_rate)
        sampled = self.space.decode(self.policy.sample(rng))
        if self.pool is None:
            return Trial(sampled)
        return Trial(self.draw(rng, lambda r: self.space.mutate(sampled, r)))

    def observe(self, trial: Trial, evaluation: Evaluation) -> None:
        """One policy-gradient step on the trained architecture's reward."""
        assert self.policy is not None and self.optimizer is not None, "observe() before propose()"
        reward = float(evaluation.fitness)
        self.baseline.update(reward)
        advantage = reward - self.baseline.value
        action = self.space.encode(trial.arch)
        # loss = -log p(action) * advantage, so d loss / d logits = -advantage * d log p / d logits
        self.optimizer.step(self.policy.logits, -advantage * self.policy.log_prob_gradient(action))
        self.updates += 1

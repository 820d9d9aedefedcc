"""REINFORCE and G-REINFORCE on small categorical toy spaces (no benchmark data needed)."""
from __future__ import annotations

import numpy as np
import pytest

from nasearch.clock import ProxyCostPolicy
from nasearch.errors import UsageError
from nasearch.hook import PoolSelector
from nasearch.loading import check_capabilities
from nasearch.runner import run_one
from nasearch.searchers.reinforce import Adam, CategoricalPolicy, MovingAverageBaseline, Reinforce
from nasearch.spaces.protocol import Evaluation

from fakes import CountingScorer, ToySpace, search_context


def test_log_prob_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    policy = CategoricalPolicy([3, 5, 2], rng, init_scale=0.5)
    action = (2, 0, 1)
    analytic = policy.log_prob_gradient(action)
    numeric = np.zeros_like(policy.logits)
    for index in zip(*np.nonzero(policy.valid)):
        saved = policy.logits[index]
        policy.logits[index] = saved + 1e-6
        up = policy.log_prob(action)
        policy.logits[index] = saved - 1e-6
        down = policy.log_prob(action)
        policy.logits[index] = saved
        numeric[index] = (up - down) / 2e-6
    np.testing.assert_allclose(analytic, numeric, atol=1e-6)
    assert np.all(analytic[~policy.valid] == 0)  # padding of the ragged table never moves


def test_adam_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    start = rng.standard_normal((2, 3))
    grads = [rng.standard_normal((2, 3)) for _ in range(5)]
    ours, adam = start.copy(), Adam(start.shape, lr=0.01)
    theirs = torch.nn.Parameter(torch.tensor(start))
    optimizer = torch.optim.Adam([theirs], lr=0.01)
    for grad in grads:
        adam.step(ours, grad)
        optimizer.zero_grad()
        theirs.grad = torch.tensor(grad)
        optimizer.step()
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_baseline_is_bias_corrected_ema():
    baseline = MovingAverageBaseline(0.9)
    baseline.update(80.0)
    assert baseline.value == pytest.approx(80.0)  # first reward is the baseline: first advantage is 0
    baseline.update(90.0)
    assert baseline.value == pytest.approx((0.09 * 80 + 0.1 * 90) / 0.19)


def test_policy_gradient_moves_probability_to_the_rewarded_op():
    space = ToySpace(edges=2, ops=3, target=2)
    searcher = Reinforce(space)
    rng = np.random.default_rng(0)
    searcher.propose(rng)  # builds the policy
    start = searcher.policy.probabilities()[0, 2]
    searcher = Reinforce(space)
    for _ in range(300):
        trial = searcher.propose(rng)
        searcher.observe(trial, space.query(trial.arch, rng))
    probs = searcher.policy.probabilities()
    assert start == pytest.approx(1 / 3, abs=0.01)
    assert probs[0, 2] > 0.75
    assert probs[0, 2] == probs[0].max()


def test_one_update_follows_the_sign_of_the_advantage():
    space = ToySpace(edges=2, ops=3)
    searcher = Reinforce(space)
    rng = np.random.default_rng(3)
    first = searcher.propose(rng)
    searcher.observe(first, Evaluation(50.0, 1.0))  # advantage 0: baseline == reward
    np.testing.assert_allclose(searcher.optimizer.m, 0.0)
    arch = (1, 0)
    before = searcher.policy.log_prob(arch)
    searcher.propose(rng)
    from nasearch.searchers.base import Trial

    searcher.observe(Trial(arch), Evaluation(60.0, 1.0))  # above the baseline: more likely
    assert searcher.policy.log_prob(arch) > before
    after_good = searcher.policy.log_prob(arch)
    searcher.propose(rng)
    searcher.observe(Trial(arch), Evaluation(0.0, 1.0))  # far below: less likely
    assert searcher.policy.log_prob(arch) < after_good


def test_g_reinforce_scores_exactly_k_mutations_per_step_and_trains_the_best():
    space = ToySpace(edges=4, ops=5)
    scorer = CountingScorer(space, lambda arch: sum(arch))
    k = 7
    searcher = Reinforce(space, PoolSelector(scorer, k, ProxyCostPolicy("lookup")))
    rng = np.random.default_rng(4)
    searcher.policy = CategoricalPolicy(searcher.sizes, rng)
    searcher.optimizer = Adam(searcher.policy.logits.shape, 0.01)
    for _ in range(20):
        probe = np.random.default_rng()
        probe.bit_generator.state = rng.bit_generator.state
        parent = space.decode(searcher.policy.sample(probe))  # what propose() samples from the policy
        scorer.calls.clear()
        trial = searcher.propose(rng)
        assert len(scorer.calls) == k
        assert all(sum(a != b for a, b in zip(cand, parent)) == 1 for cand in scorer.calls)
        assert trial.arch == max(scorer.calls, key=sum)  # first of the best on ties
        searcher.observe(trial, space.query(trial.arch, rng))
    assert searcher.pool.scored == 20 * k


def test_g_reinforce_updates_the_policy_with_the_trained_arch():
    space = ToySpace(edges=3, ops=4)
    scorer = CountingScorer(space, lambda arch: -arch[1])
    searcher = Reinforce(space, PoolSelector(scorer, 5, ProxyCostPolicy("lookup")))
    twin = Reinforce(space)
    rng = np.random.default_rng(5)
    for _ in range(3):
        trial = searcher.propose(rng)
        if twin.policy is None:
            twin.policy = CategoricalPolicy(twin.sizes, np.random.default_rng(0))
            twin.optimizer = Adam(twin.policy.logits.shape, 0.01)
        twin.policy.logits[...] = searcher.policy.logits
        twin.optimizer.m[...], twin.optimizer.v[...] = searcher.optimizer.m, searcher.optimizer.v
        twin.optimizer.steps, twin.baseline.__dict__ = searcher.optimizer.steps, dict(searcher.baseline.__dict__)
        evaluation = space.query(trial.arch, rng)
        searcher.observe(trial, evaluation)
        twin.observe(trial, evaluation)
        np.testing.assert_array_equal(searcher.policy.logits, twin.policy.logits)


def test_runs_are_deterministic_and_stop_on_the_budget():
    space = ToySpace(edges=3, ops=4)
    first = run_one(search_context(space, "reinforce", k=10, budget=235.0), 3)
    again = run_one(search_context(space, "reinforce", k=10, budget=235.0), 3)
    other = run_one(search_context(space, "reinforce", k=10, budget=235.0), 4)
    assert first == again
    assert first.trajectory.arch != other.trajectory.arch
    assert first.evaluations == 23 and first.simulated_seconds == 230.0  # 10 s each, the 24th refused


def test_g_reinforce_run_counts_k_scores_per_evaluation():
    space = ToySpace(edges=3, ops=4)
    scorer = CountingScorer(space, lambda arch: arch[0])
    record = run_one(search_context(space, "reinforce", budget=200.0, scorer=scorer, k=6), 0)
    assert record.evaluations == 20
    # the 21st step scored its pool before the clock refused its training
    assert record.pool_draws == 21 * 6


def test_space_without_categorical_encoding_is_a_usage_error():
    class Bare(ToySpace):
        choices = None

    with pytest.raises(UsageError, match="needs the encoding capability"):
        check_capabilities(Reinforce, Bare())


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="learning_rate"):
        Reinforce(ToySpace(), learning_rate=0)
    with pytest.raises(ValueError, match="momentum"):
        Reinforce(ToySpace(), momentum=1.0)

"""search(): rounds, pruning, budget, samplers, custom spaces, resume checks (toy objectives)."""

from __future__ import annotations

import pytest
import search_toys

from fullcycle.errors import FullcycleError
from fullcycle.tuning.study import search


def test_search_runs_a_coarse_then_a_fine_round_inside_the_narrowed_ranges(tmp_path):
    result = search(objective=search_toys.quick, trials=12, out=tmp_path, pruner="none")
    rounds = [t["round"] for t in result.trials]
    assert rounds == ["coarse"] * 8 + ["fine"] * 4
    assert [t["number"] for t in result.trials] == list(range(12))
    fine_ranges = result.rounds["fine"]["ranges"]
    for t in result.trials[8:]:
        for name, value in t["values"].items():
            r = fine_ranges[name]
            assert r["low"] - 1e-12 <= value <= r["high"] + 1e-12, name
    assert result.best["dev_error"] == min(t["dev_error"] for t in result.trials)
    assert "lr" in result.best["params"] and "beta1" in result.best["params"]


def test_search_writes_summary_plot_and_journal_with_both_rounds(tmp_path):
    from fullcycle.rundir import RunDir

    search(objective=search_toys.quick, trials=8, out=tmp_path)
    run = RunDir(tmp_path, create=False)
    section = run.read_json("summary.json")["search"]
    assert set(section["rounds"]) == {"coarse", "fine"}
    assert section["best"]["dev_error"] is not None
    assert (tmp_path / section["plot"]).stat().st_size > 5000
    experiments = run.journal.experiments()
    assert len(experiments) == 8
    assert {e["reason"].split(":")[0] for e in experiments} == {"coarse round", "fine round"}
    assert any(d["kind"] == "search_refine" for d in run.journal.decisions())
    # journaled once: a second invocation (nothing left to run) adds no experiment
    search(objective=search_toys.quick, trials=8, out=tmp_path)
    assert len(run.journal.experiments()) == 8


def test_median_pruning_stops_bad_trials_and_can_be_switched_off(tmp_path):
    pruned = search(objective=search_toys.quick, trials=16, out=tmp_path / "median",
                    fine_fraction=0.0)
    assert pruned.counts().get("pruned", 0) >= 3
    stopped = [t for t in pruned.trials if t["state"] == "pruned"]
    assert all(t["epochs"] < 4 for t in stopped)  # stopped before the last epoch
    assert all(t["dev_error"] > pruned.best["dev_error"] for t in stopped)
    unpruned = search(objective=search_toys.quick, trials=16, out=tmp_path / "none",
                      fine_fraction=0.0, pruner="none")
    assert unpruned.counts() == {"complete": 16}


def test_successive_halving_prunes_too(tmp_path):
    result = search(objective=search_toys.quick, trials=16, out=tmp_path,
                    pruner="halving", fine_fraction=0.0)
    assert result.counts().get("pruned", 0) >= 2


@pytest.mark.parametrize("sampler", ["sobol", "tpe"])
def test_quasi_random_and_tpe_samplers_on_request(tmp_path, sampler):
    result = search(objective=search_toys.quick, trials=8, out=tmp_path, sampler=sampler)
    assert result.counts() in ({"complete": 8}, {"complete": 7, "pruned": 1},
                               {"complete": 6, "pruned": 2})
    assert result.to_dict()["plan"]["sampler"] == sampler


def test_a_time_budget_stops_the_search_without_a_trial_count(tmp_path):
    # The budget is read on the search's clock; here a clock each trial advances by 0.3 s,
    # so the test does not depend on how fast a loaded machine opens the study or trains
    # (a real 1.5 s budget once ended before the first trial on a busy machine).
    now = [1_000.0]
    starts = []

    def slowish(config, report):
        starts.append(now[0])
        now[0] += 0.3
        return search_toys.quick(config, report, epochs=4, sleep_s=0.0)

    result = search(objective=slowish, budget=1.5, out=tmp_path, pruner="none",
                    clock=lambda: now[0])
    assert max(starts) <= result.plan.deadline  # no trial starts after the deadline
    assert 3 <= len(result.trials) <= 6  # 1.5 s of 0.3 s trials, and then it stops
    assert {t["round"] for t in result.trials} == {"coarse", "fine"}


def test_a_custom_define_by_run_space_and_its_categorical_narrowing(tmp_path):
    def space(trial):
        return {"lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
                "activation": trial.suggest_categorical("activation", ["relu", "tanh"])}

    def objective(config, report):
        return search_toys.bowl(config) + (0.0 if config["activation"] == "relu" else 1.0)

    result = search(objective=objective, space=space, trials=20, out=tmp_path)
    assert result.rounds["fine"]["ranges"]["activation"]["choices"] == ["relu"]
    assert all(t["params"]["activation"] == "relu" for t in result.trials
               if t["round"] == "fine")


def test_resuming_with_another_trial_count_is_refused_with_the_fix(tmp_path):
    search(objective=search_toys.quick, trials=4, out=tmp_path)
    with pytest.raises(FullcycleError, match="--trials 4"):
        search(objective=search_toys.quick, trials=6, out=tmp_path)


def test_joining_a_study_that_does_not_exist_names_the_fix(tmp_path):
    with pytest.raises(FullcycleError, match="no study 'nosuch'"):
        search(objective=search_toys.quick, out=tmp_path, study_name="nosuch", join=True)


def test_bad_sizes_and_choices_are_user_errors(tmp_path):
    for kwargs, words in [({"trials": 0}, "--trials"), ({}, "needs a size"),
                          ({"trials": 4, "sampler": "grid"}, "sampler"),
                          ({"trials": 4, "pruner": "always"}, "pruner"),
                          ({"trials": 4, "workers": 0}, "--workers"),
                          ({"trials": 4, "budget": -1}, "--budget")]:
        with pytest.raises(FullcycleError, match=words):
            search(objective=search_toys.quick, out=tmp_path / words[:4], **kwargs)


def test_resuming_with_other_training_settings_is_refused_with_the_fix(tmp_path):
    search(objective=search_toys.quick, trials=4, out=tmp_path, base_config={"epochs": 3})
    with pytest.raises(FullcycleError, match="same flags"):
        search(objective=search_toys.quick, trials=4, out=tmp_path,
               base_config={"epochs": 5})


def test_fc_search_is_the_search_function_even_after_the_package_was_imported(tmp_path):
    import fullcycle as fc
    import fullcycle.tuning.space  # noqa: F401  (binds the package as fullcycle.tuning)

    result = fc.search(objective=search_toys.quick, trials=4, out=tmp_path, record=False)
    assert result.counts() == {"complete": 4}

"""Helpers of benchmarks/gpu_check.sh (not run on their own):

    python3 benchmarks/gpu_report.py pngs DIR            # validation digits as PNG files, for predict
    python3 benchmarks/gpu_report.py summary OUT WORK    # OUT/summary.json and the other returned files

The summary gathers what the sections left in WORK into at most 8 files in OUT, and puts the
figures that decide the issue first: hybrid_s bf16 training MFU (achieved FLOP/s over the dense
bf16 matmul rate measured in the same process; target >= 40%) and compiled inference against
the paper-style reference at the same batch (target >= 2x).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

MFU_TARGET, INFER_SPEEDUP_TARGET = 0.40, 2.0
PREDICT_ABSENT = 3  # the exit status gpu_check.sh gives digits_predict where there is no predict command


def write_pngs(folder: Path, per_class: int = 2) -> None:
    """The first `per_class` validation digits of each class, named LABEL_INDEX.png (8x8 grey)."""
    from spachc.datasets.data import digits

    val = digits().val
    folder.mkdir(parents=True, exist_ok=True)
    seen: dict[int, int] = {}
    for i, label in enumerate(val.labels):
        if seen.get(label, 0) < per_class:
            val.image(i).save(folder / f"{label}_{i:03d}.png")
            seen[label] = seen.get(label, 0) + 1
    print(f"wrote {sum(seen.values())} PNG files to {folder}")


def read_json(path: Path):
    """The JSON a section wrote, or None; a file that is not JSON is kept as its text."""
    if not path.is_file():
        return None
    text = path.read_text(errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # `--json` printed through rich may be wrapped; keep the text rather than lose it.
        return {"unparsed": text[-4000:]}


def pytest_counts(path: Path) -> dict | None:
    if not path.is_file():
        return None
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)",
                                               path.read_text(errors="replace").splitlines()[-1]
                                               if path.read_text().strip() else "")}
    return counts


def bench_figures(report: dict | None) -> dict | None:
    if not report or "results" not in report:
        return None
    r = report["results"][0]
    return {"mode": r["mode"], "batch": report["batch_size"], "compile": report["compile"], "amp": report["amp"],
            "ms_per_step": r["ms_per_step"], "images_per_s": r["images_per_s"],
            "achieved_tflops": r["achieved_gflops"] / 1e3, "matmul_tflops": report["matmul_gflops"] / 1e3,
            "mfu": r["matmul_share"], "peak_memory_gib": r["peak_memory_bytes"] / 2**30,
            "device_name": report["device_name"], "torch": report["torch_version"]}


def reference_figures(report: dict | None) -> dict | None:
    if not report or "runs" not in report:
        return None
    out = {}
    for run in report["runs"]:
        res = run["results"]
        out.setdefault(run["amp"], {})[run["mode"]] = {
            "batch": run["batch"], **{f"{k}_ms": v["ms_per_step"] for k, v in res.items()},
            **{f"{k}_mfu": v["matmul_share"] for k, v in res.items()},
            "speedup_spachc_eager": run["speedup"].get("spachc")}
    return {"fp32_rel_err": report["fp32_rel_err"], "by_amp": out}


def bench_vs_reference(bench: dict, reference: dict | None) -> dict:
    """Reference eager ms / `spachc bench` ms (compiled on the GPU), same device, batch and mode."""
    speedups = {}
    if not reference:
        return speedups
    for mode in ("train", "infer"):
        b = bench.get(mode)
        if not b:
            continue
        for amp, runs in reference["by_amp"].items():
            ref = runs.get(mode)
            if ref and ref["batch"] == b["batch"]:
                speedups[f"{mode}_vs_reference_{'fp32' if amp == 'off' else amp}"] = ref["reference_ms"] / b["ms_per_step"]
    return speedups


def summarise(out: Path, work: Path) -> dict:
    sections = [json.loads(line) for line in (work / "sections.jsonl").read_text().splitlines() if line.strip()]
    for s in sections:
        if s["name"] == "digits_predict" and s["exit"] == PREDICT_ABSENT:
            s["status"] = "absent"

    bench_reports = {m: read_json(work / f"bench_{m}.json") for m in ("train", "infer")}
    with (out / "bench.jsonl").open("w") as f:
        for report in bench_reports.values():
            if report is not None:
                f.write(json.dumps(report) + "\n")
    bench = {m: bench_figures(r) for m, r in bench_reports.items()}
    reference = reference_figures(read_json(out / "reference.json"))
    speedups = bench_vs_reference(bench, reference)

    run = work / "digits_run"
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()] \
        if (run / "metrics.jsonl").is_file() else []
    digits = {"run": read_json(run / "run.json"), "result": read_json(run / "result.json"), "metrics": metrics,
              "eval": read_json(work / "digits_eval.json"), "predict": read_json(work / "predict.json"),
              "predict_onnx": read_json(work / "predict_onnx.json"),
              "exported": sorted(p.name for p in work.glob("digits.*"))}
    (out / "digits.json").write_text(json.dumps(digits, indent=2) + "\n")
    if (run / "curves.png").is_file():
        shutil.copyfile(run / "curves.png", out / "curves.png")

    train_mfu = (bench.get("train") or {}).get("mfu")
    infer_speedup = speedups.get("infer_vs_reference_bf16")
    summary = {
        "targets": {
            "train_mfu": train_mfu, "train_mfu_target": MFU_TARGET,
            "train_mfu_met": None if train_mfu is None else train_mfu >= MFU_TARGET,
            "infer_speedup_vs_reference_bf16": infer_speedup, "infer_speedup_target": INFER_SPEEDUP_TARGET,
            "infer_speedup_met": None if infer_speedup is None else infer_speedup >= INFER_SPEEDUP_TARGET,
        },
        "sections": sections,
        "all_ok": all(s["status"] in ("ok", "absent") for s in sections),
        "pytest": pytest_counts(out / "pytest.txt"),
        "bench": bench,
        "bench_vs_reference": speedups,
        "reference": reference,
        "digits": {"val_top1_per_epoch": [m.get("val_top1") for m in metrics],
                   "eval_top1": (digits["eval"] or {}).get("top1") if isinstance(digits["eval"], dict) else None,
                   "exported": digits["exported"]},
        "profile": read_json(work / "profile.json"),
        "env": next((json.loads(line) for line in (out / "log.txt").read_text(errors="replace").splitlines()
                     if line.startswith('{"python"')), None),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "pngs":
        write_pngs(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "summary":
        summary = summarise(Path(sys.argv[2]), Path(sys.argv[3]))
        print(json.dumps({k: summary[k] for k in ("targets", "all_ok", "pytest", "bench_vs_reference")}, indent=2))
        for s in summary["sections"]:
            print(f"  {s['name']:15s} {s['status']:8s} {s['seconds']:4d}s (limit {s['limit_s']}s)")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()

"""spachc.model_io in process: `spachc.create_model` and `spachc.build` of zoo names and class
counts, pretrained sources, one place that decides a file's kind, and the integrity of weights
files (checksums over aliases and metadata, old files, the streamed digest, config fields)
(`spachc save`, hostile files given to the CLI and the fuzzer are tests/e2e/test_model_io_cli.py)."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from safetensors.torch import load_file, save_file
from support.exporting import logits, random_model, spec_of
from support.paths import FIXTURES
from support.weights_files import code_of, rewrite_header

import spachc
from spachc.diagnostics import DiagnosticError
from spachc.model_io import integrity, kinds
from spachc.model_io import metadata as meta
from spachc.model_io.tensors import read_metadata, save_weights, tensors_digest


# --- create_model and its aliases ------------------------------------------------------------

def test_create_model_of_a_zoo_name_with_another_class_count():
    model = spachc.create_model("hybrid_xs", num_classes=7)
    assert model(torch.randn(2, 3, 224, 224)).shape == (2, 7)
    assert model.spec.classes == 7
    assert model.spec.hash == spachc.load("hybrid_xs", overrides=["classes=7"]).hash


def test_build_takes_a_zoo_name_and_num_classes_and_keeps_building_specs_as_before():
    spec = spec_of("conv4")
    torch.manual_seed(3)
    before = spachc.build(spec).state_dict()
    torch.manual_seed(3)
    from spachc.nn.build import build as nn_build

    expected = nn_build(spec).state_dict()
    assert before.keys() == expected.keys() and all(torch.equal(before[k], expected[k]) for k in before)
    assert spachc.build(spec, num_classes=3).head.out_features == 3
    assert spachc.build("hybrid_xs").spec.hash == spachc.load("hybrid_xs").hash


def test_num_classes_keeps_every_weight_but_the_classifier(tmp_path):
    spec, model = random_model("conv4")
    path = tmp_path / "w.safetensors"
    save_weights(model, spec, path)
    tuned = spachc.create_model(path, num_classes=3)
    old, new = model.state_dict(), tuned.state_dict()
    assert new["head.weight"].shape == (3, spec.stages[-1].dim)
    assert torch.count_nonzero(new["head.weight"]) == 0 and torch.count_nonzero(new["head.bias"]) == 0
    assert all(torch.equal(old[k], new[k]) for k in old if k not in ("head.weight", "head.bias"))
    assert tuned.spec.hash == spachc.parse(spachc.to_text(spec), overrides=["classes=3"]).hash
    assert tuned.model_info.labels is None  # the old class names name nothing now
    assert spachc.from_pretrained(path, num_classes=3).head.out_features == 3  # a TypeError before


def test_num_classes_zero_gives_pooled_features(tmp_path):
    spec, model = random_model("conv4")
    path = tmp_path / "w.safetensors"
    save_weights(model, spec, path)
    features = spachc.create_model(path, num_classes=0)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        pooled = features.eval()(images)
        expected = model.eval().forward_features(images).mean(dim=1)
    assert pooled.shape == (2, spec.stages[-1].dim)
    torch.testing.assert_close(pooled, expected, rtol=0, atol=0)


def test_aliases_load_like_before(tmp_path):
    spec, model = random_model("shared")
    path = tmp_path / "w.safetensors"
    save_weights(model, spec, path)
    images = torch.randn(2, 3, 32, 32)
    for loaded in (spachc.load_model(path), spachc.from_pretrained(path), spachc.create_model(path)):
        assert (logits(loaded, images) == logits(model, images)).all()
    assert not spachc.from_pretrained(path).training


def test_pretrained_weights_of_another_spec_and_an_official_checkpoint(tmp_path):
    spec, model = random_model("conv4")
    path = tmp_path / "w.safetensors"
    save_weights(model, spec, path)
    with pytest.raises(DiagnosticError) as caught:
        spachc.create_model(spec_of("conv"), pretrained=path)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E821" and diagnostic.notes  # what differs, in the diff engine's words
    # the same architecture with another class count: taken when num_classes is given
    other = spachc.parse(spachc.to_text(spec), overrides=["classes=9"])
    tuned = spachc.create_model(other, pretrained=path, num_classes=4)
    assert tuned.head.out_features == 4
    assert torch.equal(tuned.state_dict()["stem_norm.weight"], model.state_dict()["stem_norm.weight"])
    # an official checkpoint of the paper's code, with its spec
    ckpt = tmp_path / "official.pth"
    torch.save({"model": load_file(FIXTURES / "ms_hybrid_small.upstream.safetensors")}, ckpt)
    hybrid = spachc.parse((FIXTURES / "ms_hybrid_small.spach").read_text())
    official = spachc.create_model(hybrid, pretrained=str(ckpt), num_classes=10)
    mapped = spachc.from_upstream(hybrid, load_file(FIXTURES / "ms_hybrid_small.upstream.safetensors"))
    assert official.head.out_features == 10
    got = official.state_dict()
    assert all(torch.equal(got[k], v) for k, v in mapped.items() if k not in ("head.weight", "head.bias"))
    assert code_of(lambda: spachc.create_model(str(ckpt))) == "E820"  # a lone .pth has no spec


def test_unknown_sources_and_arguments_are_coded(tmp_path):
    (tmp_path / "plain").mkdir()
    assert code_of(lambda: spachc.create_model(tmp_path / "plain")) == "E820"
    assert code_of(lambda: spachc.create_model(42)) == "E820"
    assert code_of(lambda: spachc.create_model("hybrid_xs", num_classes=-1)) == "E1230"  # timm's num_classes rule, checked in one place
    assert code_of(lambda: spachc.create_model("hybrid_xs", pretrained=True)) == "E822"
    assert code_of(lambda: spachc.create_model(tmp_path / "missing.pth")) == "E811"


def test_kinds_are_decided_in_one_place(tmp_path):
    spec, model = random_model("conv4")
    save_weights(model, spec, tmp_path / "w.safetensors")
    spachc.save(spachc.create_model(tmp_path / "w.safetensors"), tmp_path / "folder")
    (tmp_path / "run").mkdir()
    save_weights(model, spec, tmp_path / "run" / kinds.RUN_BEST)
    assert [kinds.kind_of(s) for s in (spec, "hybrid_xs", "specs/hybrid_xs.spach", tmp_path / "w.safetensors",
                                       tmp_path / "folder", tmp_path / "run", "x.pth")] == [
        "spec", "zoo", "spach", "weights", "model_folder", "run_folder", "checkpoint"]


# --- integrity ---------------------------------------------------------------------------------

@pytest.fixture
def shared_file(tmp_path):
    spec, model = random_model("shared")
    path = tmp_path / "shared.safetensors"
    save_weights(model, spec, path, extra=meta.model_info_entries(meta.ModelInfo(
        meta.default_preprocessing(spec.input, spec.channels), ("a", "b", "c", "d", "e"))))
    return path


def test_the_checksum_covers_aliases_and_metadata(shared_file):
    spachc.load_model(shared_file)  # whole: loads
    assert read_metadata(shared_file)[meta.CHECKSUM_SCHEME] == "2"

    def swap(header):
        table = json.loads(header["__metadata__"][meta.ALIASES])
        first = sorted(table)[0]
        other = next(k for k in sorted(header) if k not in ("__metadata__", table[first])
                     and header[k]["shape"] == header[table[first]]["shape"])
        table[first] = other
        header["__metadata__"][meta.ALIASES] = json.dumps(table, sort_keys=True)

    rewrite_header(shared_file, swap)
    assert code_of(lambda: spachc.load_model(shared_file)) == "E815"


def test_an_edited_label_fails_the_checksum(shared_file):
    rewrite_header(shared_file, lambda h: h["__metadata__"].update({meta.LABELS: json.dumps(list("vwxyz"))}))
    assert code_of(lambda: spachc.from_pretrained(shared_file)) == "E815"


def test_old_files_with_a_tensor_only_checksum_still_load_and_are_still_verified(tmp_path):
    spec, model = random_model("conv4")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    old = tmp_path / "old.safetensors"
    save_file(state, str(old), metadata={meta.SPEC: spachc.to_text(spec), meta.SPEC_HASH: spec.hash,
                                         meta.CHECKSUM: tensors_digest(state)})
    loaded = spachc.load_model(old)
    assert all(torch.equal(loaded.state_dict()[k], state[k]) for k in state)
    data = bytearray(old.read_bytes())
    data[-3] ^= 0x10
    old.write_bytes(bytes(data))
    assert code_of(lambda: spachc.load_model(old)) == "E815"


def test_the_streamed_digest_is_the_one_the_writer_computes(tmp_path):
    from spachc.model_io.header import read_header

    spec, model = random_model("shared")
    path = tmp_path / "w.safetensors"
    save_weights(model, spec, path, dtype=torch.bfloat16)
    kept = load_file(str(path))
    assert integrity.tensors_digest_of_file(path, read_header(path)) == tensors_digest(kept)
    rewrite_header(path, lambda h: h["__metadata__"].update({meta.CHECKSUM_SCHEME: "9"}))
    assert code_of(lambda: spachc.load_model(path)) == "E830"


@pytest.mark.parametrize("table, code", [("[1, 2]", "E824"), ("[" * 100000 + "]" * 100000, "E825")])
def test_inspect_reads_the_alias_table_as_the_loaders_do(tmp_path, table, code):
    """inspect once crashed (AttributeError, RecursionError) on tables the loaders refuse."""
    from spachc.export.inspect import describe

    spec, model = random_model("conv4")
    path = tmp_path / "w.safetensors"
    save_weights(model, spec, path)
    rewrite_header(path, lambda h: h["__metadata__"].update({meta.ALIASES: table}))
    assert code_of(lambda: describe(path)) == code


def test_a_deeply_nested_header_is_a_coded_error(tmp_path):
    path = tmp_path / "deep.safetensors"
    text = ("[" * 200000 + "]" * 200000).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text)
    assert code_of(lambda: spachc.create_model(path)) == "E825"


@pytest.fixture
def folder(tmp_path):
    spec, model = random_model("conv4")
    return spachc.save(model, tmp_path / "m", labels=["a", "b", "c", "d", "e"])


@pytest.mark.parametrize("edit, code", [
    (lambda c: c["pretrained_cfg"].update(label_names=5), "E827"),
    (lambda c: c["pretrained_cfg"].update(label_names=[None] * 5), "E827"),
    (lambda c: c["pretrained_cfg"].update(label_names=["a"]), "E827"),
    (lambda c: c["pretrained_cfg"].update(num_classes=9), "E827"),
    (lambda c: c["pretrained_cfg"].update(input_size=[3, -1, 32]), "E826"),
    (lambda c: c["pretrained_cfg"].update(input_size=[3, 64, 64]), "E828"),
    (lambda c: c["pretrained_cfg"].update(input_size="big"), "E826"),
    (lambda c: c["pretrained_cfg"].update(crop_pct=1e-9), "E826"),
    (lambda c: c["pretrained_cfg"].update(std=[float("nan")] * 3), "E826"),
    (lambda c: c["pretrained_cfg"].update(mean=[True, 0, 0]), "E826"),
    (lambda c: c.update(spec=17), "E829"),
    (lambda c: c.update(extra=json.loads("[" * 50 + "]" * 50)), "E825"),
])
def test_every_config_field_is_checked(folder, edit, code):
    config = json.loads((folder / "config.json").read_text(), parse_constant=lambda x: float(x))
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))
    assert code_of(lambda: spachc.from_pretrained(folder)) == code

"""spachc .safetensors files: shared tensors stored once, and every broken file refused
with a message that names the file and the problem (truncated, corrupted, altered,
another spec's weights, wrong shapes or dtypes)."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from safetensors.torch import save_file
from support.exporting import logits, random_model, spec_of

import spachc
from spachc.model_io.tensors import META_ALIASES, WeightsError, load_weights, read_metadata, save_weights, weights_bytes


def header_length(path) -> int:
    return struct.unpack("<Q", path.read_bytes()[:8])[0]


def test_a_shared_mixer_is_stored_once_and_re_tied_on_load(tmp_path):
    spec, model = random_model("shared")
    path = tmp_path / "shared.safetensors"
    save_weights(model, spec, path)

    names = set(model.state_dict())
    aliases = json.loads(read_metadata(path)[META_ALIASES])
    mixer = {n for n in names if n.startswith("stages.1.blocks.") and ".mixer." in n}
    assert len(mixer) == 3 * 4  # qkv and proj, weight and bias, in each of 3 blocks
    assert sorted(aliases) == sorted(n for n in mixer if not n.startswith("stages.1.blocks.0."))
    assert set(aliases.values()) == {n for n in mixer if n.startswith("stages.1.blocks.0.")}

    reloaded = spachc.load_model(path)
    blocks = reloaded.stages[1].blocks
    assert blocks[0].mixer is blocks[1].mixer is blocks[2].mixer
    params = sum(p.numel() for p in reloaded.parameters())
    assert params == spachc.summary(spec).params
    images = torch.randn(2, 3, 32, 32)
    assert torch.equal(torch.from_numpy(logits(reloaded, images)), torch.from_numpy(logits(model, images)))


@pytest.fixture
def saved(tmp_path):
    spec, model = random_model("conv4")
    path = tmp_path / "model.safetensors"
    save_weights(model, spec, path)
    return path


def test_truncated_file_is_refused_by_name(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) - 100])
    with pytest.raises(WeightsError, match=rf"{saved}: truncated: {len(data) - 100:,} bytes, but its header "
                                          rf"places tensor data up to byte {len(data):,}"):
        spachc.load_model(saved)
    saved.write_bytes(data[:5])
    with pytest.raises(WeightsError, match="too short for a safetensors header"):
        spachc.load_model(saved)


def test_a_flipped_byte_in_the_tensor_data_is_caught_by_the_checksum(saved):
    data = bytearray(saved.read_bytes())
    data[-10] ^= 0x40
    saved.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"does not match the checksum written with it: the file is corrupted"):
        spachc.load_model(saved)


def test_a_corrupted_header_is_refused(saved):
    data = bytearray(saved.read_bytes())
    data[8] = ord("[")  # the JSON header no longer starts an object
    saved.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=rf"{saved}: corrupted header"):
        spachc.load_model(saved)


def test_an_altered_spec_text_is_refused(saved):
    """Editing the embedded spec (here heads 2 -> 1, same shapes) must not go unnoticed."""
    data = saved.read_bytes()
    n = header_length(saved)
    header = json.loads(data[8:8 + n])
    header["__metadata__"]["spachc.spec"] = header["__metadata__"]["spachc.spec"].replace("heads 2", "heads 1")
    raw = json.dumps(header).encode()
    saved.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n:])
    with pytest.raises(WeightsError, match=r"does not match its spec text .*the file was altered"):
        load_weights(saved)


def test_weights_of_another_spec_are_refused_naming_the_tensors(tmp_path):
    """A file whose spec says `conv` but whose tensors are `trans`'s, as a bad merge would make."""
    conv_spec, trans_spec = spec_of("conv"), spec_of("trans")
    _, trans_model = random_model("trans")
    path = tmp_path / "mixed.safetensors"
    path.write_bytes(weights_bytes(trans_model, conv_spec))
    with pytest.raises(WeightsError, match=rf"{path}: weights do not match the spec 't_conv':\n  unexpected "
                                          r"tensors: stages.0.blocks.0.layer_scale"):
        spachc.load_model(path)
    assert trans_spec.hash != conv_spec.hash


def test_wrong_shapes_and_dtypes_are_named(tmp_path):
    spec, model = random_model("conv")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state["head.weight"] = torch.zeros(7, 16)
    state["stem_norm.weight"] = torch.ones(16, dtype=torch.int32)
    path = tmp_path / "bad.safetensors"
    save_file(state, str(path), metadata={"spachc.spec": spachc.to_text(spec)})
    with pytest.raises(WeightsError) as caught:
        spachc.load_model(path)
    message = str(caught.value)
    assert "head.weight has shape (7, 16), the spec needs (5, 16)" in message
    assert "stem_norm.weight has dtype torch.int32, the spec needs a torch.float32 tensor" in message


def test_a_file_without_a_spec_is_refused(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(WeightsError, match="carries no spachc spec"):
        spachc.load_model(path)


def test_written_files_get_the_usual_permissions(saved):
    """Not mkstemp's private 0600: a shipped file is meant to be read by others."""
    assert saved.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_files_without_a_checksum_still_load(tmp_path):
    """Files written before the checksum existed carry none; they load unchanged."""
    spec, model = random_model("trans")
    path = tmp_path / "old.safetensors"
    data = weights_bytes(model, spec)
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    del header["__metadata__"]["spachc.sha256"]
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n:])
    images = torch.randn(1, 3, 32, 32)
    assert (logits(spachc.load_model(path), images) == logits(model, images)).all()

"""What `spachc explain CODE` prints beside a code's meaning: an example that triggers it, and the fix.

The registry (spachc.diagnostics.codes) says what a code means in one line; this table says
what a user does about it. It is plain data and imports nothing, so `spachc explain` stays as
fast and torch-free as `check`. tests/test_explanations.py holds every entry to the truth:
each "spec" example, run through the front end, reports its code; each "command" example
names a real subcommand and real options, and the torch-free ones are run.

An example is either a .spach text (kind "spec": `spachc check -e` reports the code on it) or a
shell command line (kind "command"). Command examples name files as a user would have them
(`photo.png`, `runs/digits_small`); a few codes are raised only by the Python API, and their
example is a `python -c` line that calls it.
"""

from __future__ import annotations

from typing import Literal, NamedTuple


class Explanation(NamedTuple):
    example: str  # what triggers it: a .spach text (kind "spec") or a shell command line
    kind: Literal["spec", "command"]
    fix: str  # what the user does about it, one to three sentences, concrete


def _spec(example: str, fix: str) -> Explanation:
    return Explanation(example, "spec", fix)


def _command(example: str, fix: str) -> Explanation:
    return Explanation(example, "command", fix)


EXPLANATIONS: dict[str, Explanation] = {
    # --- file: reading the spec ---------------------------------------------------------------
    "E001": _command(
        "spachc check latin1.spach",
        "Save the file as UTF-8 (most editors offer it under 'Save with encoding'); the error points at the "
        "first byte that is not UTF-8. Outside comments a spec needs only ASCII anyway."),
    "E002": _spec(
        "# a network for the digits, to be written\n",
        "Write at least one stage: `stage conv x2 dim 64` is a whole spec, every other statement has a "
        "default. A file of comments only is empty."),
    "E003": _command(
        "spachc check weights.safetensors",
        "Pass the .spach file, not a weights file or a data file: a spec is never larger than 1,000,000 bytes. "
        "To see the spec stored in a weights file, run `spachc inspect FILE`."),
    "E004": _command(
        "spachc check specs/",
        "Name the .spach files inside the folder, e.g. `spachc check specs/*.spach`."),
    "E005": _command(
        "spachc check photo.png",
        "Pass a .spach text file; this one contains NUL bytes, so it is an image, an archive or a weights "
        "file. Use `spachc inspect` for .safetensors and .onnx files."),
    "E006": _command(
        "spachc check hybrid_ss",
        "Check the spelling of the path, or use a zoo name that `spachc zoo` lists (the hint names the "
        "closest one, here hybrid_s)."),
    "E007": _command(
        "spachc check locked.spach",
        "Make the file readable by your user (`chmod u+r locked.spach`) or copy it somewhere you can read; "
        "the message gives the operating system's reason."),
    "E008": _command(
        "spachc check",
        "Name a spec (a .spach file or a zoo name) or write one with `-e TEXT`, e.g. "
        "`spachc check -e 'stage conv x2 dim 96'`. `build` takes one of the two, not both; `train` without "
        "a spec needs `--resume --out DIR`."),
    # --- syntax --------------------------------------------------------------------------------
    "E100": _spec(
        "stage conv x2 dim 64 ?\n",
        "Delete the character or write what the hint expects in its place; a spec holds only keywords, "
        "names, numbers, `->`, `,`, `#` comments and (in design spaces) `{ | }`, `$` and `..`."),
    "E101": _spec(
        "stage conv x2 dim 64 -> stage trans x2\n",
        "Write what the message says is expected at that point: stages are joined by `-> down ->`, "
        "so write `stage conv x2 dim 64 -> down -> stage trans x2`."),
    "E102": _spec(
        "stage conv x2 dimm 64\n",
        "Use the keyword the hint names (here `dim`); statements are model, input, classes, stem, defaults, "
        "drop_path, choose, where and stage, and stage options are listed in docs/LANGUAGE.md."),
    "E103": _spec(
        "stage tran x2 dim 64\n",
        "Use a registered block kind: conv, trans, mlp, pool, shift, smlp or sepconv (the hint names the "
        "closest, here `trans`)."),
    "E104": _spec(
        "stage conv x 2 dim 64\n",
        "Write the repeat count with no space after the x: `x2`, not `x 2`."),
    "E105": _spec(
        "stage conv x2 dim\n",
        "Finish the statement the file ends in; the message says what is missing (here the number after "
        "`dim`, e.g. `dim 64`)."),
    "E106": _spec(
        "stage conv x2 dim 64\nclasses 10\nstage trans x2\n",
        "Join the stages into one pipeline with `-> down ->`: `stage conv x2 dim 64 -> down -> stage trans x2`. "
        "In a design space, list alternative pipelines inside one `{ ... | ... }`."),
    "E107": _spec(
        "input 224\nclasses 10\n",
        "Add a pipeline of at least one stage, e.g. `stage conv x2 dim 64 -> down -> stage trans x2`."),
    # --- design spaces -------------------------------------------------------------------------
    "E110": _spec(
        "stage conv x{conv | trans} dim 64\n",
        "List only what the place takes: a repeat count takes whole numbers (`x{1..3}`), a kind takes block "
        "kinds (`stage {conv | trans} x2`), `cpe` takes on or off."),
    "E111": _spec(
        "stage conv x{1..2} dim 64\nwhere macs < 1e400\n",
        "Write the bound as a finite count with a unit, e.g. `where macs < 10G` or `where params 1M..20M`."),
    "E112": _spec(
        "stage conv x{1..4096} dim 8\n",
        "Narrow the repeat-count ranges (e.g. `x{1..12}`) or use fewer choices, so that the networks the "
        "space holds can be checked within the work limit."),
    "E160": _command(
        "spachc build -e 'stage {conv | trans} x2 dim 64'",
        "Sample the space first: `spachc sweep sample SPACE -n 8 -o STUDY/` writes plain specs into "
        "STUDY/specs/, which build and train take; `spachc sweep run STUDY/` trains them all."),
    "E161": _spec(
        "stage $family x2 dim 64\n",
        "Declare the choice before using it, `choose family {conv | trans | mlp}`, or correct the name after "
        "`$` to one that is declared."),
    "E162": _spec(
        "choose width {64 | 96}\nchoose width {128}\nstage conv x2 dim $width\n",
        "Keep one `choose width` and list every alternative in it (`choose width {64 | 96 | 128}`), or give "
        "the second choice another name."),
    "E163": _spec(
        "stage conv x{3..1} dim 64\n",
        "Write the range low end first (`x{1..3}`), with whole numbers only; list other values one by one "
        "(`{0.5 | 1 | 2}`) and each value once."),
    "E164": _spec(
        "stage conv x{1..2} dim 64\nwhere flops <= 1G\n",
        "Bound `params` or `macs` (MACs, not FLOPs), with the low end of a range first: "
        "`where macs <= 1G` or `where params 1M..5M`."),
    "E166": _spec(
        "input 32\nstem patch {4 | 5}\nstage conv x1 dim 16\n",
        "Remove the alternative the message names, or change the choices it combines with; the message "
        "gives the rule every network with it breaks (here 32 is not divisible by patch 5)."),
    "E167": _spec(
        "stage conv x{1..2} dim 16\nwhere params >= 1G\n",
        "Widen the `where` bounds, or widen the choices (dims, depths) so that some valid network meets "
        "them; `spachc build` on a sample shows its params and MACs."),
    "E169": _command(
        "spachc fmt space.spach",
        "Nothing to do: fmt leaves a design space as written. Check it with `spachc check space.spach`; "
        "the specs `spachc sweep sample` writes are already in canonical form."),
    "W160": _spec(
        "choose unused {1 | 2}\nstage conv x{1..2} dim 16\n",
        "Use the choice where it belongs (`x$unused`, `dim $unused`) or delete the `choose` line."),
    # --- studies -------------------------------------------------------------------------------
    "E1301": _command(
        "spachc sweep run runs/",
        "Pass the folder that holds study.json, i.e. the `-o` folder of `spachc sweep sample` or "
        "`spachc sweep new`; make one first if there is none."),
    "E1302": _command(
        "spachc sweep sample battle -n 16 --seed 1 -o study/",
        "Choose another `-o` folder for a different study; repeating the very same sampling into the same "
        "folder is fine and changes nothing."),
    "E1303": _command(
        "spachc sweep run study/ --shard 5/4",
        "Write `--shard K/N` with whole numbers and 1 <= K <= N, e.g. `--shard 2/4` on the second of four "
        "machines."),
    "E1304": _command(
        "spachc sweep run study/ --epochs 50",
        "Run without data and recipe flags to go on with the study's own settings (settings.json), or "
        "sample a new study for other settings: every sample of a study gets the same data and recipe."),
    "E1305": _command(
        "spachc sweep run study/",
        "Restore the sample's spec file (study.json holds the space and the choices) or sample a new "
        "study; move a run folder trained on another spec away, and `sweep run` trains the sample again."),
    "E1306": _command(
        "spachc sweep report study/",
        "Train first: `spachc sweep run study/` (a few runs are enough for a report)."),
    "E1307": _command(
        "spachc sweep sample space.spach -n 500 -o study/",
        "Ask for fewer samples (`-n`), widen the choices or the `where` bounds, or draw longer with "
        "`--max-draws`; `spachc check space.spach` says how many distinct architectures the space holds."),
    "E1310": _command(
        "spachc sweep run study/",
        "Restore study.json as spachc wrote it: sample ids are letters, digits, '_' and '-', and each spec "
        "path is a .spach file inside the study (no '..', no absolute path)."),
    "E1311": _command(
        "spachc sweep report study/",
        "Restore the file the message names (from a backup or version control), or delete a settings or "
        "record file to have spachc write it again; study.json itself cannot be rebuilt, sample a new study."),
    "E1312": _command(
        "spachc sweep run /mnt/readonly/study/",
        "Make the study folder and its runs/ writable (`chmod -R u+w`), free disk space, or copy the study "
        "to a writable place and run it there."),
    "E1320": _command(
        "spachc sweep sample battle -n 12 --stratify familly -o study/",
        "Name a `choose NAME` of the space, or a label `spachc check` prints for a choice "
        "(e.g. `stage1.kind`)."),
    "E1321": _command(
        "spachc sweep run study/",
        "Read the record in that run's folder (runs/<id>_seed<k>/failed.json) and report it as a bug with the "
        "message. The study went on without it; a failed run counts as finished, so delete its failed.json "
        "to have the next `spachc sweep run` train it again."),
    "E1322": _command(
        "spachc sweep run study/ --budgets 6,2",
        "Give rising whole epoch counts, `--budgets 2,6,18`, or `--halving 3 --min-epochs 2 --max-epochs 18` "
        "with 1 <= min < max and eta >= 2."),
    "E1323": _command(
        "spachc sweep run /tmp/study/ --ray --ray-address auto",
        "Put the study on storage every Ray node mounts at the same path (NFS, Lustre, CephFS), not on a "
        "node's local disk or /tmp."),
    "E1324": _command(
        "spachc sweep run study/ --ray",
        "Install the extra: `pip install 'spachc[ray]'`, or run without `--ray`."),
    "E1325": _command(
        "spachc sweep run study/ --ray",
        "Run the same command again: finished runs are skipped and interrupted ones resume. If the same "
        "task fails again, run that sample without `--ray` to see its own error."),
    "E1326": _command(
        "spachc sweep search battle -n 8 --objectives top1,flops -o search/",
        "Name distinct objectives among top1, params, macs and img/s; a search folder keeps the objectives "
        "of its first search, so use a new `-o` folder for others."),
    "E1327": _command(
        "spachc sweep search battle -n 8 -o search/",
        "Install the extra: `pip install 'spachc[search]'`, or sample a study instead with `spachc sweep sample`."),
    # --- duplicates ----------------------------------------------------------------------------
    "E201": _spec(
        "classes 10\nclasses 100\nstage conv x2 dim 64\n",
        "Keep one of the two statements; the notes point at both."),
    "E202": _spec(
        "stage conv x2 dim 64 dim 96\n",
        "Keep one of the two options in that stage (or in `defaults`); the notes point at both."),
    "E203": _spec(
        "stem conv1 patch 16 hidden 32\nstage conv x2 dim 64\n",
        "Write `stem conv4 patch 16 hidden 32` if you want the four-conv stem, or drop `hidden`: the conv1 "
        "stem has no hidden width."),
    # --- values --------------------------------------------------------------------------------
    "E301": _spec(
        "stage conv x2 dim 64.5\n",
        "Write a whole number, e.g. `dim 64`; widths, heads, patch, classes and input sizes are integers."),
    "E302": _spec(
        "stage conv x0 dim 64\n",
        "Give at least 1: `x1` for one block, `dim 1` or more; to leave out a stage, delete it."),
    "E303": _spec(
        "stage conv x2 dim 64 channel_ratio 0\n",
        "Give a ratio greater than 0, e.g. `channel_ratio 2`; to disable the layer scale write "
        "`layerscale off`, not 0."),
    "E304": _spec(
        "drop_path 1\nstage conv x2 dim 64\n",
        "Give a rate in [0, 1), e.g. `drop_path 0.1`; a rate of 1 would drop every block."),
    "E305": _spec(
        "stage conv x2 dim 8 channel_ratio 0.1\n",
        "Raise the ratio (or the dim, or the input) so that int(width x ratio) is at least 1: here "
        "int(8 x 0.1) = 0, and `channel_ratio 0.125` gives 1."),
    "E306": _spec(
        "stage conv x9999999999 dim 64\n",
        "Write a number within the limit the message gives (repeat counts at most 100,000, integers and "
        "sizes as stated); such a network could not be built anyway."),
    "E309": _command(
        "python -c \"import spachc; spachc.Spec.from_json(open('edited_ir.json').read())\"",
        "Do not edit derived fields (grid, channel_hidden, token_hidden, blocks) of IR JSON by hand: edit the "
        ".spach text and take the IR from `spachc build SPEC --json` (its `spec`)."),
    "E311": _spec(
        "stage conv x60000 dim 8 -> down -> stage conv x60000\n",
        "Use fewer blocks: a network has at most 100,000."),
    # --- geometry ------------------------------------------------------------------------------
    "E401": _spec(
        "input 225\nstage conv x2 dim 64\n",
        "Make the input a multiple of the stem's patch (here 16: `input 224`), or choose a patch that "
        "divides it (`stem patch 15`)."),
    "E402": _spec(
        "stem conv4 patch 7\nstage conv x2 dim 64\n",
        "Give the conv4 stem an even patch of at least 2 (e.g. `stem conv4 patch 16`), or use "
        "`stem conv1 patch 7`: conv4 halves the image once before its patch conv."),
    "E403": _spec(
        "input 24\nstem patch 4\nstage conv x1 dim 8 -> down -> stage conv x1 -> down -> stage conv x1\n",
        "Use a larger input (`input 32`), a smaller patch or fewer stages, so that the token grid has even "
        "sides at every `down`."),
    "E404": _spec(
        "stage trans x2 dim 64 heads 3\n",
        "Choose heads that divide the stage's dim (the hint lists them; here `heads 4`), in the stage or in "
        "`defaults`; a later stage whose dim the default heads do not divide needs its own `heads`."),
    "E405": _command(
        "python -c \"import spachc; spachc.Spec.from_json(open('no_heads_ir.json').read())\"",
        "Give the trans stage a `heads` value in the IR JSON, or write the spec as .spach text, where "
        "`heads` defaults to max(1, first dim // 32), and take the IR from `spachc build SPEC --json`."),
    "E406": _spec(
        "stage conv x2\n",
        "Give the first stage a width, e.g. `stage conv x2 dim 64`; later stages double it unless they "
        "give their own."),
    # --- sharing -------------------------------------------------------------------------------
    "E501": _spec(
        "stage conv x2 dim 64 shared\n",
        "Use `shared` only in a stage with exactly one non-conv kind, e.g. `stage conv x1, trans x2 dim 64 "
        "shared`, or drop it: conv blocks have no spatial mixer to share."),
    "E502": _spec(
        "stage conv x2 dim 64 cpe off\n",
        "Keep `cpe on` in stages with conv blocks (the CPE is their only spatial mixing), or turn it off "
        "only in stages of trans or mlp blocks."),
    "E503": _spec(
        "stage conv x1, pool x2 dim 64 shared\n",
        "Drop `shared`: pool and shift have no parameters, so there is nothing to share."),
    # --- overrides -----------------------------------------------------------------------------
    "E601": _command(
        "spachc build hybrid_s --set depth=3",
        "Use one of the keys the hint lists (model, input, classes, stem, drop_path, dim, heads, ...) "
        "written KEY=VALUE, e.g. `--set input=32`; block counts are changed in the spec text, not by --set."),
    "E602": _command(
        "spachc export runs/digits_small --set input=64 --onnx digits.onnx",
        "Leave out `--set`: trained weights keep their spec. To change the architecture, copy the spec text "
        "`spachc inspect runs/digits_small/best.safetensors` prints into a .spach file, edit it and train that."),
    # --- limits --------------------------------------------------------------------------------
    "E701": _command(
        "spachc build -e 'stage trans x100 dim 8192'",
        "Shrink the network (fewer blocks, smaller dims), or raise the limit with `--max-params N` if you "
        "really mean that size; the message gives the count and its fp32 size."),
    "E702": _command(
        "spachc build -e 'input 4096 stem patch 4 stage trans x1 dim 64'",
        "Use a smaller input, a larger patch or narrower stages (attention over many tokens is the usual "
        "cause), or raise the limit with `--max-activation-gb GiB` if you mean it."),
    # --- official checkpoints ------------------------------------------------------------------
    "E801": _command(
        "spachc import-upstream hybrid_s hybrid_s.pth -o hybrid_s.safetensors",
        "Check the path of the downloaded checkpoint; the second argument is the .pth file of the paper's "
        "code."),
    "E802": _command(
        "spachc import-upstream hybrid_s pickled_model.pth -o hybrid_s.safetensors",
        "Use a checkpoint of plain tensors ({'model': state_dict}); spachc refuses checkpoints that need "
        "arbitrary code unpickled. Re-save it from Python with `torch.save({'model': model.state_dict()}, "
        "path)`."),
    "E803": _command(
        "spachc import-upstream hybrid_s hybrid_s.pth.html -o hybrid_s.safetensors",
        "Download the checkpoint again: this file is no torch archive or pickle (often an HTML error page "
        "or a truncated download)."),
    "E804": _command(
        "spachc import-upstream hybrid_s tensor_list.pth -o hybrid_s.safetensors",
        "Give a checkpoint that holds a dict of tensors (a state_dict, or {'model': state_dict}) as the "
        "paper's training code writes it."),
    "E805": _command(
        "spachc import-upstream hybrid_xs hybrid_s.pth -o hybrid_xs.safetensors",
        "Give the spec the checkpoint was trained with (here hybrid_s); the message lists the keys or "
        "shapes that do not fit."),
    # --- weights files -------------------------------------------------------------------------
    "E811": _command(
        "spachc inspect runs/x/best.safetensors",
        "Check the path; a training run has best.safetensors only after its first finished epoch "
        "(continue it with `spachc train --resume --out runs/x`)."),
    "E812": _command(
        "spachc inspect half_copied.safetensors",
        "Copy or download the file again: it is truncated or its header is corrupted."),
    "E813": _command(
        "spachc eval timm_model.safetensors",
        "Use a .safetensors written by spachc (train, save, export, import-upstream): only those carry their "
        "spec. Weights of the paper's code go in as the official .pth, `--weights hybrid_s.pth`, or converted "
        "with `spachc import-upstream SPEC CKPT -o W.safetensors`."),
    "E814": _command(
        "spachc eval edited.safetensors",
        "Restore the file from its training run (`runs/NAME/best.safetensors`): its embedded spec is "
        "invalid or no longer matches its recorded hash."),
    "E815": _command(
        "spachc eval bitflipped.safetensors",
        "Copy the file again from its source: its tensor bytes do not match the checksum written with "
        "them, so the weights are damaged."),
    "E816": _command(
        "spachc eval hybrid_s --weights hybrid_s_trimmed.safetensors",
        "Use weights written for this spec (the message lists the names, shapes or dtypes that differ), "
        "or evaluate the file with its own spec: `spachc eval FILE.safetensors`."),
    # --- model sources -------------------------------------------------------------------------
    "E820": _command(
        "python -c \"import spachc; spachc.create_model('photos/')\"",
        "Pass a zoo name, a .spach file, a Spec, a spachc .safetensors, a model folder (config.json) or a "
        "training run folder; an official .pth goes as `pretrained=` beside its spec. Write a model folder "
        "with `spachc save SRC DIR`."),
    "E821": _command(
        "python -c \"import spachc; spachc.create_model('hybrid_xs', pretrained='runs/hybrid_s/best.safetensors')\"",
        "Give `pretrained` weights of the same architecture (the message says what differs), or load the "
        "weights file by itself: `spachc.create_model('runs/hybrid_s/best.safetensors')`."),
    "E822": _command(
        "python -c \"import spachc; spachc.create_model('hybrid_xs', pretrained=True)\"",
        "Give the weights as a path, `pretrained='runs/x/best.safetensors'`, when the source is a spec; "
        "`pretrained=True` only fits sources that carry weights. `save` needs a whole classifier, not a "
        "model built with features_only=True or num_classes=0."),
    "E823": _command(
        "spachc inspect hand_edited.safetensors",
        "Write the file again with spachc (`spachc save` or `spachc export --safetensors`): every tensor "
        "entry needs dtype, shape and data_offsets, and every __metadata__ value must be a string."),
    "E824": _command(
        "spachc eval hand_edited.safetensors",
        "Write the file again with spachc; its alias table must be a JSON object mapping tensor names "
        "to stored names."),
    "E825": _command(
        "spachc eval crafted.safetensors",
        "Use a file written by spachc: this header, metadata or config.json is nested too deeply or holds "
        "too many entries to be one."),
    "E826": _command(
        "spachc predict my_model/ cat.png",
        "Write the model folder again with `spachc save SRC DIR --mean ... --std ...`: its preprocessing "
        "(input_size, mean, std, crop_pct) has a wrong type or a value out of range."),
    "E827": _command(
        "spachc save runs/digits_small digits_model/ --labels three_names.txt",
        "Give one string label per class of the spec (a text file with one name per line, or a JSON list)."),
    "E828": _command(
        "spachc predict my_model/ cat.png",
        "Save the model again from its training run (`spachc save RUN DIR`): its recorded preprocessing is "
        "for another input size or channel count than its spec."),
    "E829": _command(
        "spachc predict my_model/ cat.png",
        "Write the model folder again with `spachc save SRC my_model/`: the spec stored in its config.json must "
        "be .spach text of at most the stated length."),
    "E830": _command(
        "spachc eval newer_format.safetensors",
        "Write the file again with this version of spachc, or upgrade spachc to the version that wrote it: "
        "its checksum scheme is unknown here."),
    "E831": _command(
        "spachc save runs/digits_small digits_model/ --mean 0.5,0.5",
        "Give `--mean`/`--std` as one finite number or one per channel, comma-separated "
        "(`--mean 0.485,0.456,0.406`), and `--labels` as a readable UTF-8 text file or JSON list."),
    # --- export --------------------------------------------------------------------------------
    "E900": _command(
        "spachc export hybrid_s",
        "Say what to write: `--onnx OUT.onnx` and/or `--safetensors OUT.safetensors`."),
    "E901": _command(
        "spachc export hybrid_s --onnx hybrid_s.onnx --batch 0",
        "Give `--batch dynamic` (the default) or a positive integer, e.g. `--batch 1`."),
    "E902": _command(
        "spachc export runs/digits_small --weights other.safetensors --onnx digits.onnx",
        "Drop `--weights` (the run folder already holds its weights), or pass a spec as the source and "
        "the weights with `--weights`, or export the weights file directly."),
    "E904": _command(
        "spachc export hybrid_s --weights hybrid_s.ckpt --onnx hybrid_s.onnx",
        "Give `--weights` a spachc .safetensors file, a spachc state.pt or an official .pth of the "
        "paper's code."),
    "E905": _command(
        "spachc export hybrid_s --dtype bf16 --onnx hybrid_s.onnx",
        "Export fp32 or fp16 ONNX, or add `--no-verify` to write the bf16 file unverified (onnxruntime "
        "cannot run bf16 on CPU); bf16 is fine for --safetensors."),
    "E906": _command(
        "spachc export hybrid_s --onnx exports/",
        "Give a file name, e.g. `--onnx exports/hybrid_s.onnx`."),
    "E907": _command(
        "spachc export runs/digits_small --onnx digits.onnx --int8 --calibrate digits --min-agreement 1",
        "Calibrate on images like the ones the model will see, or lower `--min-agreement` (default 0.99) "
        "if the measured agreement is good enough for you; the fp32 file is written either way."),
    "E908": _command(
        "spachc export runs/digits_small --onnx digits.onnx --int8",
        "Pass `--int8` with `--onnx OUT.onnx --calibrate DATA` (images the model was trained on), in fp32, "
        "without `--features` or `--no-verify`; `--calibrate` and `--min-agreement` go only with `--int8`."),
    "E909": _command(
        "spachc export mlp_xs --onnx mlp_xs.onnx --dynamic-size",
        "Drop `--dynamic-size` for specs with mlp or smlp stages (their weights fix the token grid), and use "
        "an opset of 18 or newer."),
    "E910": _command(
        "spachc export hybrid_s --onnx hybrid_s.onnx --dtype fp16",
        "Report it as a bug with the message (it says which output differed and by how much); meanwhile "
        "export in fp32, or add `--no-verify` if you check the file yourself."),
    # --- output --------------------------------------------------------------------------------
    "E951": _command(
        "spachc graph hybrid_s -o no_such_dir/hybrid_s.md",
        "Write into a folder that exists and is writable: create it first (`mkdir -p no_such_dir`)."),
    "E952": _command(
        "spachc graph hybrid_s --format svg -o hybrid_s.svg",
        "Install Graphviz (`apt install graphviz` or `brew install graphviz`) so `dot` is on PATH, or use "
        "`--format mermaid`, `markdown` or `dot`."),
    "E953": _command(
        "spachc diff hybrid_s",
        "Give exactly two specs, e.g. `spachc diff hybrid_s hybrid_xs`; for `REV:path`, name a revision and "
        "a path git has (`git show REV:path` must work)."),
    # --- bench ---------------------------------------------------------------------------------
    "E961": _command(
        "spachc bench hybrid_s --batch-size 0",
        "Give `--batch-size`, `--steps` and `--threads` of at least 1 and `--warmup` of at least 0."),
    "E962": _command(
        "spachc bench hybrid_s --mode training",
        "Use one of the listed choices: `--mode infer|train|both`, `--device auto|cpu|cuda`, "
        "`--amp off|bf16|fp16`, `--dtype fp32|bf16|auto`."),
    # --- training ------------------------------------------------------------------------------
    "E1001": _command(
        "spachc train hybrid_xs --data digits",
        "Make spec and data fit: here the spec writes classes 1000 and the digits have 10, so add "
        "`--set classes=10` (or leave `classes` out of the spec: train fits it to the data). For image "
        "folders, give DATA/train/<class>/ and DATA/val/<class>/ with readable images."),
    "E1002": _command(
        "spachc train benchmarks/digits_small.spach --lr -1",
        "Give the flag the message names a value in its range (see `spachc train --help`), e.g. a positive "
        "`--lr`, `--mixup 0` to turn Mixup off, `--seeds 0,1` as distinct whole numbers."),
    "E1003": _command(
        "spachc train benchmarks/digits_small.spach --out runs/digits_small",
        "Continue the run with `spachc train --resume --out runs/digits_small` alone (the folder has its "
        "spec, data and recipe), or train into a new `--out` folder."),
    "E1004": _command(
        "spachc train benchmarks/digits_small.spach --lr 10",
        "Lower `--lr` (or add `--clip-grad 1`) and train into a new `--out` folder, and check the data for "
        "broken images or labels; a resume keeps the run's recipe, so it would diverge again."),
    "E1005": _command(
        "spachc train benchmarks/digits_small.spach --out /mnt/full_disk/run",
        "Free disk space (or make the `--out` folder writable), then continue with "
        "`spachc train --resume --out DIR`: the previous checkpoint is intact."),
    "E1006": _command(
        "spachc train benchmarks/digits_small.spach --out runs/d  # then Ctrl-C",
        "Nothing is lost (a checkpoint was saved at the step it stopped): continue with "
        "`spachc train --resume --out runs/d`."),
    "E1007": _command(
        "torchrun --nproc-per-node 2 -m spachc train hybrid_s --data imagenet/",
        "Report it as a bug with the message: data-parallel ranks must end each epoch with equal weights. "
        "Resume from the last checkpoint with `--resume`."),
    "E1008": _command(
        "spachc train benchmarks/digits_small.spach --device cuda",
        "Use `--device cpu` or `auto` on a machine without a GPU, and a `--batch-size` no larger than the "
        "number of training images."),
    "E1040": _command(
        "spachc eval runs/digits_small  # then Ctrl-C",
        "Nothing to fix: every file the command finished writing is complete. Run the same command again "
        "to start over; a sweep skips the runs it finished."),
    "E1041": _command(
        "spachc train --resume --out runs/damaged_run",
        "Restore state.pt from a backup, or move the run folder aside and train again; the weights of its "
        "last finished epoch are intact (the message names them: last.safetensors, best.safetensors), so a "
        "new run can start from them with `--init runs/damaged_run/last.safetensors`."),
    "E1042": _command(
        "spachc train --resume --out runs/edited_run",
        "Restore state.pt as spachc wrote it (it is never edited by hand), or move the run folder aside and "
        "train again, starting from its best weights with `--init` if you want them."),
    # --- evaluation ----------------------------------------------------------------------------
    "E1011": _command(
        "spachc eval hybrid_s",
        "Give the weights: `spachc eval hybrid_s --weights W.safetensors`, or evaluate a weights file, a "
        "model folder or a run folder directly (`spachc eval runs/hybrid_s`)."),
    "E1012": _command(
        "spachc eval runs/digits_small --ema",
        "Drop `--ema`, or train with an EMA (`--ema-decay 0.9999`) so that <W>.ema.safetensors is written "
        "beside the weights."),
    "E1013": _command(
        "spachc eval hybrid_xs --weights runs/digits_small/best.safetensors",
        "Use the weights' own spec, which the file carries: `spachc eval runs/digits_small/best.safetensors`; "
        "the message lists what differs."),
    "E1014": _command(
        "spachc eval hybrid_s --weights optimizer.pth",
        "Give the checkpoint that holds the model's weights, a state_dict or {'model': state_dict} of "
        "tensors, not an optimizer state or other training records."),
    "E1016": _command(
        "spachc eval runs/digits_small --dtype fp64",
        "Use `--dtype fp32`, `bf16` or `auto`."),
    # --- fine-tuning ---------------------------------------------------------------------------
    "E1020": _command(
        "spachc train benchmarks/digits_small.spach --init photos/",
        "Give `--init` a model: a run folder, a model folder, a spachc .safetensors, a state.pt, or an "
        "official .pth with `--init-spec ZOO_NAME` when it has no head."),
    "E1021": _command(
        "spachc train mlp_small.spach --set input=64 --init runs/mlp_small",
        "Train at the model's input size (here `--set input=32`, or leave `--set` out), or add "
        "`--init-partial` to start the grid-tied token-mixing weights afresh."),
    "E1022": _command(
        "spachc train benchmarks/digits_small.spach --set dim=48 --init runs/digits_small",
        "Train the model's own spec (only the head may differ), or load what matches by name and shape "
        "with `--init-partial`."),
    "E1023": _command(
        "spachc train benchmarks/digits_small.spach --init runs/digits_small --layer-decay 1.5",
        "Give a number in (0, 1], e.g. `--layer-decay 0.75`, or 1 for none."),
    "E1024": _command(
        "spachc train benchmarks/digits_small.spach --init runs/digits_small --freeze stage9",
        "Name parts the network has: `stem`, `stage1` ... `stageN` (comma-separated) or `backbone`."),
    "E1025": _command(
        "spachc train benchmarks/digits_small.spach --init-partial",
        "Add `--init MODEL` (`--init-spec` and `--init-partial` qualify it); when resuming, leave `--init` "
        "out: the run folder has its weights."),
    # --- input sizes ---------------------------------------------------------------------------
    "E1201": _command(
        "python -c \"import spachc, torch; spachc.build('mlp_xs', features_only=True)(torch.zeros(1, 3, 160, 160))\"",
        "Resize the images to the spec's input size, or use kinds that are not tied to the grid (conv, "
        "trans, pool, shift, sepconv) to run at other sizes."),
    "E1202": _command(
        "python -c \"import spachc, torch; spachc.build('hybrid_xs', features_only=True)(torch.zeros(1, 3, 96, 100))\"",
        "Crop or resize to height and width that are multiples of the total stride (patch x 2^(stages-1); "
        "the hint gives a size)."),
    "E1203": _command(
        "python -c \"import spachc, torch; spachc.build('hybrid_xs', features_only=True)(torch.zeros(3, 224, 224))\"",
        "Pass a batch B x C x H x W with the spec's channels: `images.unsqueeze(0)` for one image, and "
        "convert greyscale or RGBA images to the channels of the spec."),
    "E1204": _command(
        "spachc export hybrid_s --onnx backbone.onnx --out-indices 1,2",
        "Use `--out-indices I,J` only with `--features` and `--onnx` (no `--safetensors`), with stage indices "
        "from 0 to stages-1."),
    # --- model folders -------------------------------------------------------------------------
    "E1211": _command(
        "spachc predict my_model/ cat.png",
        "Write the folder again with `spachc save SRC my_model/`: its config.json is unreadable, or it "
        "describes another spec than model.safetensors holds."),
    "E1212": _command(
        "spachc predict my_model/ cat.png",
        "Correct the field the message names (interpolation is bicubic, bilinear or nearest; mean and std give "
        "one value per channel, std positive; crop_pct in (0, 1]), or save the model again with "
        "`spachc save SRC DIR --labels FILE --mean ... --std ...`."),
    "E1213": _command(
        "spachc save runs/digits_small ./",
        "Save into a new or empty folder (`spachc save runs/digits_small digits_model/`); a model folder "
        "holds only config.json and model.safetensors."),
    # --- predict -------------------------------------------------------------------------------
    "E1221": _command(
        "spachc predict runs/digits_small notes.txt",
        "Give image files PIL can decode (PNG, JPEG, ...); re-save a damaged image or leave it out."),
    "E1250": _command(
        "spachc predict runs/digits_small panorama_100000x10.png",
        "Resize the image to a sane size and aspect ratio first; spachc refuses decompression bombs and "
        "extreme aspect ratios before decoding."),
    "E1251": _command(
        "spachc predict diverged_model/ cat.png",
        "The weights produce NaN or Inf: use an earlier checkpoint (best.safetensors) or retrain with a "
        "lower `--lr`; check with `spachc eval` on the validation data."),
    "E1222": _command(
        "spachc predict hybrid_s cat.png",
        "Give a trained model (a model folder, a run folder, a spachc .safetensors or an .onnx exported by "
        "spachc) and `--top-k` of at least 1; a spec has no weights, train it first."),
    # --- timm contract -------------------------------------------------------------------------
    "E1230": _command(
        "python -c \"import spachc; spachc.build('hybrid_xs', num_classes=-1)\"",
        "Give num_classes as a whole number >= 0 (0 removes the classifier and returns pooled features)."),
    "E1231": _command(
        "python -c \"import spachc; spachc.build('hybrid_xs').reset_classifier(10, global_pool='max')\"",
        "Use global_pool='avg' (the default) to pool the tokens, or '' to keep them as B x C x H x W maps."),
    # --- warnings ------------------------------------------------------------------------------
    "W101": _spec(
        "stage trans x2 dim 96 heads 8\n",
        "Choose heads so that dim / heads is a multiple of 8 (here `heads 3` or `heads 6`): fused attention "
        "kernels are faster then. It is only a warning."),
    "W102": _spec(
        "stage trans x2 dim 1024 heads 2\n",
        "Use more heads (here `heads 8` gives head_dim 128); heads wider than 256 usually train worse."),
    "W103": _spec(
        "stage conv x2 dim 64 heads 4\n",
        "Drop the option from that stage (or move it into a stage that has the kinds it applies to); it is "
        "normalised away and changes nothing."),
    "W104": _spec(
        "stage shift x2 dim 8\n",
        "Give the shift stage dim >= 12 (it moves dim // 12 channels each way), or use another kind."),
    "W1001": _command(
        "spachc train benchmarks/digits_small.spach --epochs 10",
        "Set `--warmup-epochs` and `--cooldown-epochs` that fit the run (e.g. `--warmup-epochs 1 "
        "--cooldown-epochs 0`), use `--recipe quick`, or raise `--epochs`."),
    "W1020": _command(
        "spachc train benchmarks/digits_small.spach --freeze backbone",
        "Add `--init MODEL` to start from trained weights; freezing random weights, or the finetune "
        "recipe's layer decay, only helps a trained model."),
    "W1250": _command(
        "spachc train benchmarks/digits_small.spach --set input=224",
        "Train at the data's size with the `--set input=N` the hint gives (the images' side rounded up to the "
        "spec's total stride), or use data with larger images; upsampling costs time and adds nothing."),
}

"""Run the validator over files, directories and globs; write text, JSON, SARIF or ComfyUI
JSON Lines.

:func:`lint_paths` yields one :class:`FileResult` per input file; the ``write_*`` functions
render them; :func:`exit_code` maps them to the command's exit status:

- 0: no errors (warnings allowed);
- 1: errors found (including a file that is JSON but not a prompt, e.g. a top-level array);
- 2: an input could not be read at all (missing path, I/O error, not JSON, binary junk, a PNG
  without ComfyUI metadata). The file still gets a finding (``unreadable_input``) in every
  format, and the other files are still linted.

Profile: ``"comfyui"`` or ``"cmfy"``; ``None`` picks ``"cmfy"`` for a request body that
carries a ``webhook_url`` (a cmfy.cloud body) and ``"comfyui"`` otherwise.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

import attrs

from .inputs import LoadedInput, read_input
from .jsonpos import JsonLocator, JsonPath
from .rules import RULES, rule
from .validate import Finding, Report, check_webhook_url, sort_findings, validate_prompt

if TYPE_CHECKING:
    from .spec import Spec

__all__ = [
    "FileResult",
    "FORMATS",
    "expand_paths",
    "lint_input",
    "lint_paths",
    "looks_like_a_workflow",
    "exit_code",
    "write_text",
    "text_line",
    "write_json",
    "write_sarif",
    "write_comfyui",
    "write",
]

FORMATS = ("text", "json", "sarif", "comfyui")

_SUFFIXES = (".json", ".png")
_GLOB_CHARS = re.compile(r"[*?\[]")


@attrs.frozen(slots=True)
class FileResult:
    """The linting of one input: its findings (``file`` set) and ComfyUI's verdict."""

    file: str
    kind: str
    valid: bool
    findings: tuple[Finding, ...]
    comfyui: dict[str, Any] = attrs.field(eq=False)
    unreadable: bool = False
    report: Report | None = attrs.field(default=None, eq=False, repr=False)
    #: the input as read (its text and, for a script, its node lines: for positions)
    loaded: LoadedInput | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def errors(self) -> int:
        """Number of error findings."""
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        """Number of warning findings."""
        return sum(1 for f in self.findings if f.severity == "warning")


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files to lint: files as given (a ``.py`` file is a workflow script, compiled); directories recursed (``*.json`` and ``*.png``, sorted,
    hidden entries skipped); globs expanded (``**`` recursive); ``-`` for stdin. A path that
    matches nothing is kept, so that it is reported as unreadable."""
    out: list[str] = []
    for p in paths:
        if p == "-" or os.path.isfile(p):
            out.append(p)
        elif os.path.isdir(p):
            found: list[str] = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in files:
                    if name.lower().endswith(_SUFFIXES) and not name.startswith("."):
                        found.append(os.path.join(root, name))
            out.extend(sorted(found))
        elif _GLOB_CHARS.search(p):
            matches = sorted(m for m in glob.glob(p, recursive=True) if os.path.isfile(m))
            out.extend(matches if matches else [p])
        else:
            out.append(p)
    return out


def _finding(code: str, message: str, file: str, hint: str | None = None) -> Finding:
    return Finding(code=code, severity=rule(code).severity, message=message, file=file, hint=hint)


def _invalid(message: str, details: str) -> dict[str, Any]:
    return {
        "valid": False,
        "error": {
            "type": "invalid_prompt",
            "message": message,
            "details": details,
            "extra_info": {},
        },
        "node_errors": {},
    }


def lint_input(
    loaded: LoadedInput, spec: Spec | None = None, profile: str | None = None
) -> FileResult:
    """Lint one input read by :func:`cmfy_graph.inputs.read_input`."""
    path = loaded.path
    if loaded.kind == "unreadable":
        f = _finding("unreadable_input", loaded.error or "cannot be read", path)
        return FileResult(
            path,
            loaded.kind,
            False,
            (f,),
            _invalid("Cannot read the prompt", loaded.error or ""),
            unreadable=True,
            loaded=loaded,
        )
    if loaded.kind == "unknown" and loaded.source == "png":
        f = _finding("unreadable_input", loaded.error or "no ComfyUI metadata", path)
        return FileResult(
            path, loaded.kind, False, (f,), _invalid("No prompt in the PNG", f.message), True
        )
    extra: list[Finding] = []
    conversion_notes: list[str] = []
    drift: list[str] = []
    prompt: Any = loaded.data
    targets = None
    if profile is None:
        body = loaded.body
        profile = "cmfy" if body is not None and "webhook_url" in body else "comfyui"
    if loaded.kind == "ui_workflow":
        converted = _convert_ui(loaded, spec, conversion_notes, drift)
        if isinstance(converted, FileResult):
            return converted
        prompt = converted
    elif loaded.kind == "request_body":
        body = loaded.body or {}
        t = body.get("partial_execution_targets")
        if isinstance(t, list):
            targets = t
        if profile == "cmfy" and "webhook_url" in body:
            extra.extend(
                attrs.evolve(f, file=path, input_name=None)
                for f in check_webhook_url(body.get("webhook_url"))
            )
    elif loaded.kind == "unknown" and not isinstance(prompt, (dict, list)):
        pass  # validate_prompt reports the shape
    report = validate_prompt(prompt, spec, profile=profile, partial_execution_targets=targets)
    findings = [attrs.evolve(f, file=path) for f in report.findings]
    if conversion_notes:
        findings = _fold_notes(findings, conversion_notes, prompt, path)
    if drift:
        findings = _explain_drift(findings, drift)
    findings += extra
    return FileResult(
        path,
        loaded.kind,
        report.valid,
        tuple(sort_findings(findings)),
        report.to_comfyui(),
        report=report,
        loaded=loaded,
    )


#: the end of the hint of an error on a node that the workflow saved with a newer version
#: of its class than the spec describes (``--spec`` older than the workflow)
SPEC_DRIFT_HINT = (
    "the workflow was saved with another version of this node than the spec describes "
    "(usually by a newer ComfyUI): lint with your server's own /object_info (--spec URL), "
    "or update the server"
)


def _convert_ui(loaded: LoadedInput, spec: Spec | None, notes: list[str], drift: list[str]) -> Any:
    """The API prompt of a UI workflow (the converter's warnings into ``notes``, its
    evidence of nodes newer than the spec into ``drift``), or the result of a file that
    cannot be converted."""
    path = loaded.path
    try:
        from .convert.ui import ui_to_api
    except ImportError:
        f = _finding(
            "unsupported_input",
            "a UI workflow: this installation cannot convert UI workflows",
            path,
            hint="export it from ComfyUI with 'Export (API)'",
        )
        return FileResult(
            path, loaded.kind, False, (f,), _invalid("UI workflow not supported", f.message)
        )
    from .errors import CmfyGraphError

    try:
        return ui_to_api(loaded.data, spec, warnings=notes, drift=drift)
    except (CmfyGraphError, ValueError, TypeError, KeyError, AttributeError) as exc:
        f = _finding("conversion_failed", f"the UI workflow cannot be converted: {exc}", path)
        return FileResult(
            path, loaded.kind, False, (f,), _invalid("UI workflow not converted", str(exc))
        )


def _explain_drift(findings: list[Finding], drift: list[str]) -> list[Finding]:
    """The converter's evidence of nodes newer than the spec, as the hint of the errors on
    those nodes (the evidence on the same input first, then on the dynamic combo a sub-input
    belongs to, else the node's); evidence that explains no error is not reported (values
    the editor keeps for widgets a spec lacks are common and harmless)."""
    from .convert.ui._model import MAY_HAVE_CHANGED

    at: dict[tuple[str | None, str | None], str] = {}
    for note in drift:
        key = (getattr(note, "node_id", None), getattr(note, "input_name", None))
        at.setdefault(key, str(note))
    out = []
    for f in findings:
        if f.is_error and f.node_id is not None and f.input_name is not None:
            why = at.get((f.node_id, f.input_name))
            if why is None and "." in f.input_name:
                why = at.get((f.node_id, f.input_name.split(".", 1)[0]))
            if why is None:
                why = at.get((f.node_id, None))
            if why is not None:
                hint = f"{why}; {SPEC_DRIFT_HINT}"
                old = (f.hint or "").replace(MAY_HAVE_CHANGED, "")  # the evidence says more
                f = attrs.evolve(f, hint=f"{old}; {hint}" if old else hint)
        out.append(f)
    return out


def _fold_notes(findings: list[Finding], notes: list[str], prompt: Any, path: str) -> list[Finding]:
    """The converter's warnings as findings: one that explains a finding on the same node and
    input (a link from a node missing in the UI file, then ``required_input_missing``; a class
    missing from the spec, then ``unknown_class_type``) is folded into it as its hint, so that
    one cause gives one line; a minor one (widgets newer than the file given their defaults, as
    the editor does) becomes the hint of a finding on its node, or is not reported; the others
    are ``conversion_warning`` findings at their node."""
    at: dict[tuple[str | None, str | None], int] = {}
    node_at: dict[str, int] = {}  # a node's first error (else finding), for its minor notes
    for k, f in enumerate(findings):
        if f.node_id is not None:
            at.setdefault((f.node_id, f.input_name), k)
            j = node_at.get(f.node_id)
            if j is None or (f.is_error and not findings[j].is_error):
                node_at[f.node_id] = k
    out = list(findings)
    for note in notes:
        nid: str | None = getattr(note, "node_id", None)
        name: str | None = getattr(note, "input_name", None)
        minor = bool(getattr(note, "minor", False))
        text = str(note)
        if nid is not None and text.startswith("node "):
            text = text.split(": ", 1)[-1]  # the location moves into the finding's fields
        i: int | None = at.get((nid, name)) if nid is not None else None
        if i is not None and name is None and not out[i].is_error:
            i = None  # a node-level note explains a node-level error (the class is missing)
        if i is None and nid is not None and minor:
            i = node_at.get(nid)
        if i is None and minor:
            continue  # explains nothing: the editor does the same without a word
        if i is not None:
            f = out[i]
            hint = f"in the UI workflow, {text}"
            out[i] = attrs.evolve(f, hint=f"{f.hint}; {hint}" if f.hint else hint)
            continue
        node = prompt.get(nid) if isinstance(prompt, dict) and nid is not None else None
        cls = node.get("class_type") if isinstance(node, dict) else None
        out.append(
            attrs.evolve(
                _finding("conversion_warning", text, path),
                node_id=nid,
                input_name=name,
                class_type=cls if isinstance(cls, str) else None,
            )
        )
    return out


def lint_paths(
    paths: Iterable[str],
    spec: Spec | None = None,
    profile: str | None = None,
    *,
    only_workflows: bool = False,
) -> Iterator[FileResult]:
    """Lint every file :func:`expand_paths` finds, one :class:`FileResult` each. With
    ``only_workflows`` (the pre-commit hook), files that are not a prompt, a request body, a
    UI workflow or a PNG holding one are skipped silently (``package.json``, broken JSON)."""
    if spec is None:
        from .spec import core_spec

        spec = core_spec()
    for p in expand_paths(paths):
        loaded = read_script(p) if p.endswith(".py") else read_input(p)
        if only_workflows and not looks_like_a_workflow(loaded):
            continue
        yield lint_input(loaded, spec, profile)


def read_script(path: str) -> LoadedInput:
    """A workflow script (``.py``) compiled to its API prompt, with the line that created
    each node; a script that fails is an unreadable input whose error names its line."""
    from .script import ScriptError, load_workflow_lines

    try:
        wf, lines = load_workflow_lines(path)
    except ScriptError as exc:
        msg = str(exc)
        if msg.startswith(path):
            msg = msg[len(path) :].lstrip(":0123456789 ")
        return LoadedInput(path, "unreadable", source="python", error=msg, error_line=exc.line)
    return LoadedInput(path, "api_prompt", wf.to_prompt(), "python", lines=lines)


def looks_like_a_workflow(loaded: LoadedInput) -> bool:
    """True for a prompt with at least one node, a request body, a UI workflow, or a PNG
    with one of them in its metadata."""
    if loaded.kind in ("unknown", "unreadable"):
        return False
    return not (loaded.kind == "api_prompt" and not loaded.data)


def exit_code(results: Sequence[FileResult]) -> int:
    """2 if an input was unreadable, else 1 if any error was found, else 0."""
    if any(r.unreadable for r in results):
        return 2
    if any(r.errors for r in results):
        return 1
    return 0


# ---------------------------------------------------------------------------------------------
# writers


def _summary(results: Sequence[FileResult]) -> dict[str, int]:
    return {
        "files": len(results),
        "errors": sum(r.errors for r in results),
        "warnings": sum(r.warnings for r in results),
        "files_with_errors": sum(1 for r in results if r.errors),
        "rejected_by_comfyui": sum(1 for r in results if not r.valid),
        "unreadable": sum(1 for r in results if r.unreadable),
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _node_label(f: Finding) -> str:
    if f.node_id is None:
        return ""
    what = f.class_type or ""
    if f.input_name is not None:
        what = f"{what}.{f.input_name}" if what else f.input_name
    return f" [node {f.node_id} {what}]" if what else f" [node {f.node_id}]"


def text_line(f: Finding, path: str, line: int, col: int) -> str:
    """``path:LINE:COL: error|warning CODE message (hint) [node N Class.input]``: one finding
    as the text format prints it."""
    msg = f"{f.message} ({f.hint})" if f.hint else f.message
    return f"{path}:{line}:{col}: {f.severity} {f.code} {msg}{_node_label(f)}"


def write_text(results: Sequence[FileResult], out: IO[str], *, warnings: bool = True) -> None:
    """One line per finding, ``path:LINE:COL: error|warning CODE message (hint) [node N
    Class.input]`` (the position of the node, or of its input, in the file), then a summary
    line."""
    lines = []
    for r in results:
        locate = None
        for f in r.findings:
            if f.severity == "warning" and not warnings:
                continue
            if locate is None:
                locate = _Locator(r)
            lines.append(text_line(f, r.file, *locate(f)))
    s = _summary(results)
    if s["errors"] or s["warnings"]:
        tail = f"Found {_plural(s['errors'], 'error')} and {_plural(s['warnings'], 'warning')}"
        tail += f" in {_plural(s['files'], 'file')}"
        if s["rejected_by_comfyui"]:
            tail += f"; ComfyUI would reject {s['rejected_by_comfyui']}"
        if s["unreadable"]:
            tail += f"; {s['unreadable']} unreadable"
        lines.append(tail + ".")
    else:
        lines.append(f"All checks passed ({_plural(s['files'], 'file')}).")
    out.write("\n".join(lines) + "\n")


class _Locator:
    """The line and column of a finding's node (or input) in the file it came from: the key in
    an API prompt or request body, the node object in a UI workflow (its input slot, or its
    ``widgets_values``), the line of a script that created the node; ``(1, 1)`` otherwise."""

    def __init__(self, r: FileResult) -> None:
        loaded = self.loaded = r.loaded
        self.lines = loaded.lines if loaded is not None else None
        self.json: JsonLocator | None = None
        self.ui: dict[str, int] = {}
        self.data: Any = None
        self.prefix: JsonPath = ()
        text = loaded.text if loaded is not None else None
        if text is None:
            return
        self.json = JsonLocator(text)
        if r.kind == "request_body":
            self.prefix = ("prompt",)
        elif r.kind == "ui_workflow" and isinstance(loaded.data, dict):  # type: ignore[union-attr]
            self.data = loaded.data  # type: ignore[union-attr]
            nodes = self.data.get("nodes")
            if isinstance(nodes, list):
                for i, n in enumerate(nodes):
                    if isinstance(n, dict) and "id" in n:
                        self.ui.setdefault(str(n["id"]), i)

    def __call__(self, f: Finding) -> tuple[int, int]:
        nid = f.node_id
        if nid is None:
            line = self.loaded.error_line if self.loaded is not None else None
            return (line or 1), 1
        if self.lines is not None:
            return self.lines.get(nid, 1), 1
        if self.data is not None:
            return self._ui(nid.split(":", 1)[0], f.input_name)
        node = (*self.prefix, nid)
        if f.input_name is not None:
            hit = self._at((*node, "inputs", f.input_name)) or self._at((*node, "inputs"))
            if hit:
                return hit
        return self._at(node) or (1, 1)

    def _at(self, path: JsonPath) -> tuple[int, int] | None:
        return self.json.locate(path) if self.json is not None else None

    def _ui(self, nid: str, input_name: str | None) -> tuple[int, int]:
        i = self.ui.get(nid)
        if i is None:
            return 1, 1
        node = ("nodes", i)
        if input_name is not None:
            saved = self.data["nodes"][i]
            ins = saved.get("inputs")
            if isinstance(ins, list):
                for j, slot in enumerate(ins):
                    if (
                        isinstance(slot, dict)
                        and slot.get("name") == input_name
                        and (slot.get("link") is not None or not slot.get("widget"))
                    ):
                        return self._at((*node, "inputs", j)) or (1, 1)
            # a widget's value: its key when saved by name, else the values' array
            for key in ("widgets_values_named", "widgets_values"):
                if isinstance(saved.get(key), dict) and input_name in saved[key]:
                    hit = self._at((*node, key, input_name))
                    if hit:
                        return hit
            hit = self._at((*node, "widgets_values"))
            if hit:
                return hit
        return self._at(node) or (1, 1)


def write_json(results: Sequence[FileResult], out: IO[str]) -> None:
    """One JSON document: every file with its verdict, every finding, a summary."""
    doc = {
        "version": 1,
        "files": [
            {
                "file": r.file,
                "kind": r.kind,
                "valid": r.valid,
                "errors": r.errors,
                "warnings": r.warnings,
                "comfyui": r.comfyui,
            }
            for r in results
        ],
        "findings": [f.to_dict() for r in results for f in r.findings],
        "summary": _summary(results),
    }
    json.dump(doc, out, ensure_ascii=False, indent=2, default=str)
    out.write("\n")


def write_comfyui(results: Iterable[FileResult], out: IO[str]) -> None:
    """JSON Lines, one object per file: ``{"file", "valid", "error", "node_errors"}`` in
    ComfyUI's shapes."""
    dumps = json.dumps
    parts = []
    for r in results:
        c = r.comfyui
        parts.append(
            dumps(
                {
                    "file": r.file,
                    "valid": c["valid"],
                    "error": c["error"],
                    "node_errors": c["node_errors"],
                },
                ensure_ascii=False,
                default=str,
            )
        )
    if parts:
        out.write("\n".join(parts) + "\n")


def write_sarif(results: Sequence[FileResult], out: IO[str]) -> None:
    """SARIF 2.1.0 for code-scanning tools: one run, a rule per finding code."""
    from . import __version__

    used = sorted({f.code for r in results for f in r.findings})
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for code in used:
        r = RULES.get(code) or rule(code)
        index[code] = len(rules)
        rules.append(
            {
                "id": code,
                "name": code,
                "shortDescription": {"text": r.summary},
                "defaultConfiguration": {"level": "error" if r.severity == "error" else "warning"},
                "properties": {"comfyui_type": r.comfyui},
            }
        )
    sarif_results = []
    for res in results:
        locate = _Locator(res) if res.findings else None
        for f in res.findings:
            assert locate is not None
            line, col = locate(f)
            logical = []
            if f.node_id is not None:
                name = f.node_id if f.input_name is None else f"{f.node_id}.{f.input_name}"
                logical.append(
                    {
                        "name": name,
                        "fullyQualifiedName": f"prompt/{f.node_id}"
                        + (f"/inputs/{f.input_name}" if f.input_name is not None else ""),
                        "kind": "object",
                    }
                )
            text = f.describe()
            loc: dict[str, Any] = {
                "physicalLocation": {
                    "artifactLocation": {"uri": res.file.replace(os.sep, "/")},
                    "region": {"startLine": line, "startColumn": col},
                }
            }
            if logical:
                loc["logicalLocations"] = logical
            sarif_results.append(
                {
                    "ruleId": f.code,
                    "ruleIndex": index[f.code],
                    "level": "error" if f.severity == "error" else "warning",
                    "message": {"text": text},
                    "locations": [loc],
                }
            )
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "cmfy-graph",
                        "version": __version__,
                        "informationUri": "https://github.com/cmfy/cmfy_graph",
                        "rules": rules,
                    }
                },
                "results": sarif_results,
            }
        ],
    }
    json.dump(doc, out, ensure_ascii=False, indent=2, default=str)
    out.write("\n")


def write(
    results: Sequence[FileResult], out: IO[str], fmt: str = "text", *, warnings: bool = True
) -> None:
    """Render ``results`` in one of :data:`FORMATS`."""
    if fmt == "text":
        write_text(results, out, warnings=warnings)
    elif fmt == "json":
        write_json(results, out)
    elif fmt == "sarif":
        write_sarif(results, out)
    elif fmt == "comfyui":
        write_comfyui(results, out)
    else:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")

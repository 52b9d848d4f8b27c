"""Printer pages: turn what a virtual printer received into PNG or PDF.

The page language is found the way a print server finds it: an HP PJL
header (the Universal Exit Language ``ESC %-12345X``, ``@PJL`` lines, maybe
``@PJL ENTER LANGUAGE=...``) is taken off and the job ends at the next UEL;
then ``%!`` is PostScript (a leading Ctrl-D, as Windows drivers send, is
skipped), ``%PDF-`` is PDF, and UTF-8 text of printable characters, tabs,
line ends, backspaces and form feeds is plain text.  PostScript and PDF go
through Debian's Ghostscript; plain text through GNU enscript (no header,
Courier 10, a form feed starts a new page) to PostScript, then Ghostscript.
Anything else is an :class:`UnknownLanguage` error with a hex preview.

Output: ``OUT.png`` is the first page, ``OUT-2.png``, ``OUT-3.png``... the
others; ``OUT.pdf`` holds every page.  Everything is written to temporary
names next to ``OUT`` and renamed at the end: a failed render leaves nothing.
"""

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from .errors import LptrigError

#: the default resolution of PNG pages (A4 is 827 x 1169 pixels)
DEFAULT_DPI = 100
#: paper for a page that does not set its own size: Ghostscript's name, enscript's
PAPERS: Dict[str, Tuple[str, str]] = {"a4": ("a4", "A4"), "letter": ("letter", "Letter")}
DEFAULT_PAPER = "a4"
#: output suffixes and the Ghostscript device for each
DEVICES = {".png": "png16m", ".pdf": "pdfwrite"}
#: how long Ghostscript or enscript may take for one file (a page can loop)
TIMEOUT = 120.0

UEL = b"\x1b%-12345X"
_ENTER = re.compile(rb"@PJL\s+ENTER\s+LANGUAGE\s*=\s*([A-Za-z0-9_.-]+)", re.IGNORECASE)
#: PJL language names lptrig renders, and the name it reports
_PJL_LANGUAGES = {b"POSTSCRIPT": "PostScript", b"PDF": "PDF"}
#: page languages lptrig recognises but does not render, by their first bytes
_OTHERS = ((b") HP-PCL XL", "PCL XL"), (b"\x1bE", "PCL"), (b"\x1b&", "PCL"),
           (b"\x1b*", "PCL"), (b"\x1b@", "ESC/P"))
#: control characters plain text may hold
_TEXT_CONTROLS = set("\n\r\t\f\b\x7f")


class UnknownLanguage(LptrigError):
    """The file is not PostScript, PDF or plain text (the message has a hex preview)."""


@dataclass(frozen=True)
class Rendered:
    """What :func:`render` wrote: ``files`` (pages in order for PNG, one PDF)."""

    language: str
    pages: int
    files: List[Path]


def hex_preview(data: bytes, limit: int = 64) -> str:
    """The first ``limit`` bytes as ``xxd`` shows them, 16 a line."""
    lines = []
    for off in range(0, min(len(data), limit), 16):
        chunk = data[off:off + 16]
        words = " ".join(chunk[i:i + 2].hex() for i in range(0, len(chunk), 2))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}: {words:<39}  {text}")
    return "\n".join(lines)


def _unwrap_pjl(data: bytes) -> Tuple[bytes, Optional[bytes]]:
    """The job inside a PJL wrapper, and the language PJL names (or None)."""
    if not data.startswith(UEL):
        return data, None
    rest, language = data[len(UEL):], None
    while True:
        line_start = rest.lstrip(b"\r\n\t ")
        if line_start[:4].upper() != b"@PJL":
            rest = line_start
            break
        line, _, rest = line_start.partition(b"\n")
        match = _ENTER.match(line)
        if match:  # the job's first byte follows this line feed
            language = match.group(1).upper()
            break
    return rest.split(UEL, 1)[0], language


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in _TEXT_CONTROLS for c in text)


def detect(data: bytes, name: str = "the file") -> Tuple[str, bytes]:
    """(language, job bytes): "PostScript", "PDF" or "text"; raises
    :class:`LptrigError` for an empty job, :class:`UnknownLanguage` otherwise."""
    if not data:
        raise LptrigError(f"{name}: empty, the printer received nothing")
    job, pjl = _unwrap_pjl(data)
    job = job.strip(b"\x04")   # the Ctrl-D before and after a Windows driver's job
    if data.startswith(UEL) and not job.strip():
        raise LptrigError(f"{name}: no page, only a PJL header ({len(data)} bytes)")
    if pjl is not None and pjl in _PJL_LANGUAGES:
        return _PJL_LANGUAGES[pjl], job
    if pjl is None:
        if job.startswith(b"%!"):
            return "PostScript", job
        if job.startswith(b"%PDF-"):
            return "PDF", job
        if _is_text(job):
            return "text", job
    if pjl is not None:
        what = f"PJL names the language {pjl.decode(errors='replace')}"
    else:
        what = next((f"it looks like {lang}" for prefix, lang in _OTHERS
                     if job.startswith(prefix)), "not PostScript, PDF or plain text")
    shown = min(len(data), 64)
    raise UnknownLanguage(
        f"{name}: unknown page language ({what}; lptrig renders PostScript, PDF "
        f"and plain text); the first {shown} of {len(data)} bytes:\n"
        f"{hex_preview(data)}")


def default_output(path: Union[str, Path]) -> Path:
    """Where ``lptrig render FILE.bin`` writes: FILE.png next to FILE.bin."""
    return Path(path).with_suffix(".png")


def page_files(out: Path, pages: int) -> List[Path]:
    """The file of each page: ``out`` itself, then ``out``-2, ``out``-3, ... for PNG."""
    if out.suffix.lower() == ".pdf":
        return [out]
    return [out] + [out.with_name(f"{out.stem}-{n}{out.suffix}") for n in range(2, pages + 1)]


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if not found:
        raise LptrigError(f"rendering needs {name}: install Debian's {package} "
                          "(make deps does)")
    return found


def require_tools() -> None:
    """Fail early, with one sentence, when Ghostscript or enscript is missing."""
    _tool("gs", "ghostscript")
    _tool("enscript", "enscript")


def _call(argv: List[str], what: str, name: str, stdin: Optional[bytes] = None) -> str:
    try:
        result = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise LptrigError(f"{name}: {what} did not finish in {TIMEOUT:g} s") from None
    output = result.stdout.decode(errors="replace")
    if result.returncode != 0:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        why = next((ln for ln in lines if "Error" in ln), lines[-1] if lines else "")
        raise LptrigError(f"{name}: {what} failed (exit status {result.returncode})"
                          + (f": {why}" if why else ""))
    return output


def _gs(device: str, dpi: int, paper: str, output: str, source: Path) -> List[str]:
    argv = [_tool("gs", "ghostscript"), "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dQUIET",
            f"-sDEVICE={device}", f"-sPAPERSIZE={PAPERS[paper][0]}"]
    if device != "bbox":
        argv.append(f"-sOutputFile={output}")
    if device == "png16m":
        argv += [f"-r{dpi}", "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4"]
    return argv + ["-f", str(source)]


def render(path: Union[str, Path], out: Union[str, Path, None] = None, *,
           dpi: int = DEFAULT_DPI, paper: str = DEFAULT_PAPER) -> Rendered:
    """Render the printer output ``path`` to ``out`` (.png or .pdf; default
    :func:`default_output`).  Any problem is one :class:`LptrigError`, and
    then nothing was written."""
    path = Path(path)
    out = default_output(path) if out is None else Path(out)
    name = str(path)
    device = DEVICES.get(out.suffix.lower())
    if device is None:
        raise LptrigError(f"-o {out}: give a .png or .pdf file")
    if not 10 <= dpi <= 1200:
        raise LptrigError(f"--dpi {dpi}: give 10 to 1200 dots per inch")
    if paper not in PAPERS:
        raise LptrigError(f"--paper {paper}: give {' or '.join(PAPERS)}")
    if path.is_dir():
        raise LptrigError(f"{name}: a directory, not a printer's output file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LptrigError(f"{name}: no such file") from None
    except OSError as exc:
        raise LptrigError(f"{name}: cannot read it: {exc.strerror}") from None
    if not out.parent.is_dir() or out.is_dir():
        raise LptrigError(f"-o {out}: give a file in an existing directory")
    if out.resolve() == path.resolve():
        raise LptrigError(f"-o {out} would overwrite the printer's output")
    language, job = detect(data, name)

    try:
        work = Path(tempfile.mkdtemp(prefix=".lptrig-render-", dir=out.parent))
    except OSError as exc:
        raise LptrigError(f"-o {out}: cannot write in {out.parent}: {exc.strerror}") from None
    try:
        source = work / "job"
        if language == "text":
            text = job.decode("utf-8").replace("\r\n", "\n").encode("latin-1", "replace")
            _call([_tool("enscript", "enscript"), "-q", "-B", "-M", PAPERS[paper][1],
                   "-X", "latin1", "-f", "Courier10", "-p", str(source)],
                  "enscript", name, stdin=text)
        else:
            source.write_bytes(job)
        what = f"Ghostscript ({language})"
        if device == "pdfwrite":
            # pdfwrite writes a PDF even with no page in it: count them first
            bbox = _call(_gs("bbox", dpi, paper, "", source), what, name)
            pages = bbox.count("%%BoundingBox:")
            made = [work / "page.pdf"] if pages else []
            if pages:
                _call(_gs(device, dpi, paper, str(made[0]), source), what, name)
        else:
            _call(_gs(device, dpi, paper, str(work / "page-%d.png"), source), what, name)
            made = sorted(work.glob("page-*.png"), key=lambda p: int(p.stem[5:]))
            pages = len(made)
        if not pages:
            hint = " (PostScript that never calls showpage?)" if language == "PostScript" else ""
            raise LptrigError(f"{name}: the {language} job has no page{hint}")
        files = page_files(out, pages)
        for src, dst in zip(made, files):
            os.replace(src, dst)
    except OSError as exc:
        raise LptrigError(f"-o {out}: {exc.strerror}: {exc.filename}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # A render replaces an earlier one of the same name: its later pages go too
    if device == "png16m":
        stale = pages + 1
        while page_files(out, stale)[-1].is_file():
            page_files(out, stale)[-1].unlink()
            stale += 1
    return Rendered(language, pages, files)


def describe(done: Rendered) -> List[str]:
    """One line per file written, e.g. ``page 2 of 3 rendered to X-2.png (PostScript)``."""
    if len(done.files) == 1:
        what = "page" if done.pages == 1 else f"{done.pages} pages"
        return [f"{what} rendered to {done.files[0]} ({done.language})"]
    return [f"page {n} of {done.pages} rendered to {f} ({done.language})"
            for n, f in enumerate(done.files, 1)]

"""``lptrig render`` and ``lptrig run --render``: what a printer received,
as a page whose ink is where the page puts it.

The pages here are black boxes at known PostScript coordinates; the PNGs are
read back pixel by pixel (Debian's python3-pil): inside each box dark, the
rest of the page white.  A point (x, y) of a page h points high is at pixel
column x·dpi/72, row (h − y)·dpi/72.
"""

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import pytest
from PIL import Image

from lptrig import progs, render
from lptrig.chain import Chain
from lptrig.machine import Machine

HARNESS = Path(__file__).resolve().parents[2] / "harness"
A4 = (595, 842)
LETTER = (612, 792)
#: a box as PostScript points: x0, y0, x1, y1 (origin bottom left)
Box = Tuple[int, int, int, int]
BOX = (72, 600, 216, 700)

def lptrig(*args: str, **env: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(HARNESS), **env)
    return subprocess.run([sys.executable, "-m", "lptrig", *args], env=env,
                          capture_output=True, text=True, timeout=600)


def ps_page(*pages: Sequence[Box], size: Optional[Tuple[int, int]] = None) -> bytes:
    """A PostScript document: one page per entry, each a list of black boxes."""
    lines = ["%!PS-Adobe-3.0", "%%Creator: lptrig tests"]
    if size:
        lines.append(f"<< /PageSize [{size[0]} {size[1]}] >> setpagedevice")
    for boxes in pages:
        for x0, y0, x1, y1 in boxes:
            lines.append(f"0 setgray {x0} {y0} {x1 - x0} {y1 - y0} rectfill")
        lines.append("showpage")
    return ("\n".join(lines) + "\n%%EOF\n").encode()


def tiny_pdf(boxes: Sequence[Box], size: Tuple[int, int] = A4) -> bytes:
    """A one-page PDF written by hand (not by Ghostscript) with black boxes."""
    content = " ".join(f"{x0} {y0} {x1 - x0} {y1 - y0} re" for x0, y0, x1, y1 in boxes)
    content = f"0 g {content} f".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R >>" % size,
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref)
    return out


def pixels(png: Path) -> np.ndarray:
    return np.asarray(Image.open(png).convert("L"))


def check_ink(png: Path, boxes: Sequence[Box], dpi: int, size: Tuple[int, int] = A4) -> None:
    """The PNG is the page at ``dpi``: dark inside every box (2 pixels in from
    its edges, for anti-aliasing), white everywhere 2 pixels out of them."""
    img = pixels(png)
    width, height = size
    assert abs(img.shape[1] - width * dpi / 72) <= 1, img.shape
    assert abs(img.shape[0] - height * dpi / 72) <= 1, img.shape
    near = np.zeros(img.shape, dtype=bool)
    for x0, y0, x1, y1 in boxes:
        c0, c1 = x0 * dpi / 72, x1 * dpi / 72
        r0, r1 = (height - y1) * dpi / 72, (height - y0) * dpi / 72
        inside = img[math.ceil(r0) + 2:math.floor(r1) - 2, math.ceil(c0) + 2:math.floor(c1) - 2]
        assert inside.size and inside.max() < 40, \
            f"box {(x0, y0, x1, y1)} pt is not dark at rows {r0:.0f}-{r1:.0f}, " \
            f"columns {c0:.0f}-{c1:.0f}: the brightest pixel there is {inside.max()}"
        near[max(0, math.floor(r0) - 2):math.ceil(r1) + 2,
             max(0, math.floor(c0) - 2):math.ceil(c1) + 2] = True
    outside = img[~near]
    stray = np.argwhere((img < 215) & ~near)
    assert outside.min() >= 215, \
        f"{len(stray)} dark pixels outside the boxes, e.g. (row, col) {stray[:3].tolist()}"


def ink_bbox(png: Path) -> Tuple[int, int, int, int]:
    """(first column, first row, last column, last row) of the dark pixels."""
    rows, cols = np.nonzero(pixels(png) < 128)
    assert rows.size, f"{png} is blank"
    return int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max())


def nothing_new(directory: Path, before: List[str]) -> None:
    assert sorted(p.name for p in directory.iterdir()) == before


# -- render on host files -------------------------------------------------------

@pytest.mark.parametrize("dpi", [72, 150])
def test_postscript_box_is_where_the_page_puts_it(tmp_path: Path, dpi: int) -> None:
    src = tmp_path / "printer@end.bin"
    src.write_bytes(ps_page([BOX]))
    result = lptrig("render", str(src), "--dpi", str(dpi))
    assert result.returncode == 0, result.stderr
    png = tmp_path / "printer@end.png"          # the default: next to the .bin
    assert result.stdout == f"lptrig: page rendered to {png} (PostScript)\n"
    check_ink(png, [BOX], dpi)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["printer@end.bin",
                                                          "printer@end.png"]


def test_the_pixel_check_can_fail(tmp_path: Path) -> None:
    """The check above tells a box in the wrong place, or none, from the right one."""
    src = tmp_path / "p.bin"
    src.write_bytes(ps_page([BOX]))
    png = render.render(src, dpi=72).files[0]
    for wrong in [(72, 100, 216, 200),       # upside down
                  (72, 600, 216, 650),       # half of it
                  (144, 600, 288, 700)]:     # shifted
        with pytest.raises(AssertionError):
            check_ink(png, [wrong], 72)
    with pytest.raises(AssertionError):
        check_ink(png, [BOX], 100)           # another resolution
    with pytest.raises(AssertionError):
        check_ink(png, [], 72)               # ink where no box is expected


def test_paper_and_page_size(tmp_path: Path) -> None:
    src = tmp_path / "p.bin"
    src.write_bytes(ps_page([BOX]))
    assert lptrig("render", str(src), "--dpi", "72", "--paper", "letter").returncode == 0
    check_ink(tmp_path / "p.png", [BOX], 72, LETTER)
    # A page that sets its own size keeps it, whatever --paper says
    box = (10, 10, 50, 30)
    src.write_bytes(ps_page([box], size=(300, 200)))
    render.render(src, dpi=72, paper="a4")
    check_ink(tmp_path / "p.png", [box], 72, (300, 200))


def test_several_pages_to_png_and_pdf(tmp_path: Path) -> None:
    left, right = (50, 700, 150, 800), (400, 100, 550, 200)
    src = tmp_path / "job.bin"
    src.write_bytes(ps_page([left], [right], [left, right]))
    out = tmp_path / "page.png"
    result = lptrig("render", str(src), "-o", str(out), "--dpi", "72")
    assert result.returncode == 0, result.stderr
    pngs = [out, tmp_path / "page-2.png", tmp_path / "page-3.png"]
    assert result.stdout.splitlines() == [
        f"lptrig: page {n} of 3 rendered to {p} (PostScript)" for n, p in enumerate(pngs, 1)]
    check_ink(pngs[0], [left], 72)
    check_ink(pngs[1], [right], 72)
    check_ink(pngs[2], [left, right], 72)
    # A one-page job rendered to the same name replaces all three
    src.write_bytes(ps_page([right]))
    render.render(src, out, dpi=72)
    assert sorted(p.name for p in tmp_path.glob("page*")) == ["page.png"]
    check_ink(out, [right], 72)
    # To PDF: one file with every page, and it renders back to the same pages
    src.write_bytes(ps_page([left], [right]))
    pdf = tmp_path / "all.pdf"
    result = lptrig("render", str(src), "-o", str(pdf))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"lptrig: 2 pages rendered to {pdf} (PostScript)\n"
    assert pdf.read_bytes().startswith(b"%PDF-")
    done = render.render(pdf, tmp_path / "back.png", dpi=72)
    assert (done.language, done.pages) == ("PDF", 2)
    check_ink(done.files[0], [left], 72)
    check_ink(done.files[1], [right], 72)


def test_pdf_input(tmp_path: Path) -> None:
    box = (300, 50, 500, 150)
    src = tmp_path / "doc.bin"
    src.write_bytes(tiny_pdf([BOX, box], size=LETTER))
    done = render.render(src, dpi=100)
    assert (done.language, done.pages, done.files) == ("PDF", 1, [tmp_path / "doc.png"])
    check_ink(done.files[0], [BOX, box], 100, LETTER)


@pytest.mark.parametrize("wrap", ["pjl", "pjl-no-enter", "ctrl-d"])
def test_wrapped_postscript(tmp_path: Path, wrap: str) -> None:
    """What Windows and CUPS drivers send: PJL around the job, or Ctrl-D."""
    page = ps_page([BOX])
    if wrap == "pjl":
        data = (render.UEL + b"@PJL JOB NAME=\"test\"\r\n@PJL SET RESOLUTION=600\r\n"
                b"@PJL ENTER LANGUAGE = POSTSCRIPT\r\n" + page + render.UEL +
                b"@PJL EOJ\r\n" + render.UEL)
    elif wrap == "pjl-no-enter":
        data = render.UEL + b"@PJL JOB\n@PJL COMMENT hi\n" + page + render.UEL
    else:
        data = b"\x04" + page + b"\x04"
    src = tmp_path / "p.bin"
    src.write_bytes(data)
    done = render.render(src, dpi=72)
    assert done.language == "PostScript"
    check_ink(done.files[0], [BOX], 72)


def test_text_has_ink_top_left(tmp_path: Path) -> None:
    src = tmp_path / "printer@0.bin"
    src.write_bytes("Hello from the guest\r\nline two, with ümlauts\tand a tab\n".encode())
    result = lptrig("render", str(src))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"lptrig: page rendered to {tmp_path / 'printer@0.png'} (text)\n"
    x0, y0, x1, y1 = ink_bbox(tmp_path / "printer@0.png")
    dpi = render.DEFAULT_DPI
    # Two lines of Courier 10 at enscript's top-left margin, nothing else
    assert x0 < 40 * dpi / 72 and y0 < 70 * dpi / 72, (x0, y0)
    assert y1 - y0 < 30 * dpi / 72, (y0, y1)
    # the longer line is 33 characters of 6 points (the tab to column 24, ü one)
    assert abs(x1 - (x0 + 33 * 6 * dpi / 72)) < 6 * dpi / 72, (x0, x1)


def test_form_feed_starts_a_page(tmp_path: Path) -> None:
    src = tmp_path / "t.bin"
    src.write_bytes(b"first page\n\fsecond page\nand more\n\f")   # a trailing \f: no blank page
    done = render.render(src)
    assert (done.language, done.pages) == ("text", 2)
    first, second = (ink_bbox(f) for f in done.files)
    assert first[1] == second[1] and abs(first[0] - second[0]) <= 2  # same margins
    assert second[3] - second[1] > first[3] - first[1]          # two lines against one


@pytest.mark.parametrize("data,what", [
    (bytes(range(256)) * 2, "not PostScript, PDF or plain text"),
    (b"\x1bE\x1b&l0O\x1b(s0p12h10v0s0b3T Hello\x1bE", "looks like PCL"),
    (b") HP-PCL XL;2;0\r\n\xd1\x58\x02", "looks like PCL XL"),
    (render.UEL + b"@PJL ENTER LANGUAGE=PCL\r\n\x1bEhello" + render.UEL,
     "PJL names the language PCL"),
    (b"text with a NUL\x00 in it\n", "not PostScript, PDF or plain text"),
])
def test_unknown_language_gives_a_hex_preview(tmp_path: Path, data: bytes, what: str) -> None:
    src = tmp_path / "x.bin"
    src.write_bytes(data)
    result = lptrig("render", str(src))
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"lptrig: error: {src}: unknown page language (")
    assert what in lines[0]
    shown = min(64, len(data))
    assert f"the first {shown} of {len(data)} bytes:" in lines[0]
    # The preview is what xxd shows
    xxd = subprocess.run(["xxd", "-l", "64"], input=data, capture_output=True, check=True)
    assert lines[1:] == xxd.stdout.decode().splitlines()
    assert len(lines) == 1 + (shown + 15) // 16
    nothing_new(tmp_path, ["x.bin"])


def test_hex_preview_format() -> None:
    assert render.hex_preview(b"%!PS\x00\x01ab" * 3) == (
        "00000000: 2521 5053 0001 6162 2521 5053 0001 6162  %!PS..ab%!PS..ab\n"
        "00000010: 2521 5053 0001 6162                      %!PS..ab")
    assert render.hex_preview(bytes(100)).count("\n") == 3


@pytest.mark.parametrize("data,message", [
    (b"", "empty, the printer received nothing"),
    (render.UEL + b"@PJL INFO STATUS\r\n" + render.UEL, "no page, only a PJL header (36 bytes)"),
    (b"%!PS\n0 0 10 10 rectfill\n", "the PostScript job has no page (PostScript that never calls showpage?)"),
    (b"%!PS\nfoo bar showpage\n", "Ghostscript (PostScript) failed (exit status 1): "
                                  "Error: /undefined in foo"),
])
def test_nothing_to_render_is_one_error(tmp_path: Path, data: bytes, message: str) -> None:
    src = tmp_path / "p.bin"
    src.write_bytes(data)
    for out in ("p.png", "p.pdf"):
        result = lptrig("render", str(src), "-o", str(tmp_path / out))
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.splitlines() == [f"lptrig: error: {src}: {message}"]
        nothing_new(tmp_path, ["p.bin"])    # no page, no temporary directory


@pytest.mark.parametrize("args,message", [
    (["{dir}/p.bin", "-o", "{dir}/p.jpg"], "-o {dir}/p.jpg: give a .png or .pdf file"),
    (["{dir}/p.bin", "-o", "{dir}/p"], "-o {dir}/p: give a .png or .pdf file"),
    (["{dir}/nope.bin"], "{dir}/nope.bin: no such file"),
    (["{dir}"], "{dir}: a directory, not a printer's output file"),
    (["{dir}/p.bin", "-o", "{dir}/no/such/dir/p.png"],
     "-o {dir}/no/such/dir/p.png: give a file in an existing directory"),
    (["{dir}/p.bin", "-o", "{dir}/p.bin.png/"],
     "-o {dir}/p.bin.png: give a file in an existing directory"),
    (["{dir}/p.bin", "--dpi", "5"], "--dpi 5: give 10 to 1200 dots per inch"),
    (["{dir}/p.bin", "-o", "{dir}/p.bin"], "-o {dir}/p.bin: give a .png or .pdf file"),
])
def test_bad_render_arguments(tmp_path: Path, args: List[str], message: str) -> None:
    (tmp_path / "p.bin").write_bytes(ps_page([BOX]))
    (tmp_path / "p.bin.png").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    result = lptrig("render", *(a.format(dir=tmp_path) for a in args))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"lptrig: error: {message.format(dir=tmp_path)}"]
    nothing_new(tmp_path, before)


def test_same_file_in_and_out(tmp_path: Path) -> None:
    src = tmp_path / "page.png"       # a name that makes the default output the input
    src.write_bytes(ps_page([BOX]))
    result = lptrig("render", str(src))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"lptrig: error: -o {src} would overwrite the printer's output"]
    assert src.read_bytes() == ps_page([BOX])


def test_a_directory_is_not_an_output_file(tmp_path: Path) -> None:
    result = lptrig("render", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"lptrig: error: {tmp_path}: a directory, not a printer's output file"]
    assert list(tmp_path.iterdir()) == []


def test_run_render_without_ghostscript_starts_nothing(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    result = lptrig("run", "--render", "--", "true", TMPDIR=str(tmpdir),
                    PATH=str(tmp_path / "empty"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "lptrig: error: rendering needs gs: install Debian's ghostscript (make deps does)"]
    nothing_new(tmpdir, [])


# -- pages printed from the guest -----------------------------------------------

END_BOX = BOX                        # the page printed through /dev/lp0
DAISY_BOX = (300, 100, 500, 250)     # the page for daisy printer 0


@pytest.mark.guest
def test_guest_prints_a_postscript_page(make_machine: Callable[..., Machine],
                                        tmp_path: Path) -> None:
    """Linux's lp prints a PostScript page to the printer at the end, and
    ppdev one to daisy printer 0 after a 1284.3 select: each renders to a PNG
    with its own box where its page puts it, and nothing of the other's."""
    end_ps, daisy_ps = tmp_path / "end.ps", tmp_path / "daisy.ps"
    end_ps.write_bytes(ps_page([END_BOX]))
    daisy_ps.write_bytes(ps_page([DAISY_BOX]))
    vm = make_machine(Chain.parse("printer@0,loopback@1,printer@end"),
                      add_files=[progs.add_file("ppdev_xfer"), (end_ps, "/root/end.ps"),
                                 (daisy_ps, "/root/daisy.ps")])
    vm.console.check("cat /root/end.ps > /dev/lp0")
    out = vm.console.check("ppdev_xfer -s 0 write compat /root/daisy.ps")
    assert out.strip() == f"wrote {len(daisy_ps.read_bytes())}"
    files = vm.chain.output_files(vm.rundir)
    assert files["printer@end"].read_bytes() == end_ps.read_bytes()
    assert files["printer@0"].read_bytes() == daisy_ps.read_bytes()
    for name, box in (("printer@end", END_BOX), ("printer@0", DAISY_BOX)):
        done = render.render(files[name], dpi=100)
        assert (done.language, done.pages) == ("PostScript", 1)
        assert done.files == [vm.rundir / f"{name}.png"]
        check_ink(done.files[0], [box], 100)


@pytest.mark.guest
def test_cli_run_render(tmp_path: Path) -> None:
    """``run --render``: every printer with output gets a page; one it cannot
    render is reported and the run still exits with the command's status;
    a loopback's output is not a page."""
    page, junk = tmp_path / "page.ps", tmp_path / "junk.bin"
    page.write_bytes(ps_page([BOX]))
    junk.write_bytes(bytes(range(256)))
    tool = progs.build("ppdev_xfer")
    out = tmp_path / "out"
    result = lptrig("run", "--chain", "printer@0,loopback@1,printer@2,printer@end",
                    "--out", str(out), "--render", "--add", f"{page}:/root/page.ps",
                    "--add", f"{junk}:/root/junk.bin", "--add", f"{tool}:/usr/bin/ppdev_xfer",
                    "--", "cat /root/page.ps > /dev/lp0 && "
                    "ppdev_xfer -s 0 write compat /root/junk.bin >/dev/null && "
                    "ppdev_xfer -s 1 write compat /root/page.ps >/dev/null && (exit 5)")
    assert result.returncode == 5, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if " page" in ln]
    assert lines[0] == f"lptrig: printer@0 page: not rendered: {out}/printer@0.bin: " \
                       "unknown page language (not PostScript, PDF or plain text; " \
                       "lptrig renders PostScript, PDF and plain text); " \
                       "the first 64 of 256 bytes:"
    assert lines[1:] == [f"lptrig: printer@end page: {out}/printer@end.png"], result.stderr
    assert "00000000: 0001 0203" in result.stderr      # the hex preview
    assert (out / "loopback@1.bin").stat().st_size > 0
    assert sorted(p.name for p in out.glob("*.png")) == ["printer@end.png"]  # not printer@2
    check_ink(out / "printer@end.png", [BOX], render.DEFAULT_DPI)

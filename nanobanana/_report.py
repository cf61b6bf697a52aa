"""The HTML report of a batch: one self-contained page (thumbnails as data URIs, no network) from a `BatchView`."""

from __future__ import annotations

import base64
import html
import io
import os
from datetime import datetime, timezone
from pathlib import Path

from ._batch_view import BatchView, ItemView

THUMBNAIL = 160
"""The longest side of a thumbnail, in pixels."""

# Nothing may load from the network: the page is whole by itself.
_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
_RUNNING = " A batch was running on this journal: items <em>sent</em> were being created."
_SENT = "its create was sent, and no answer recorded: the task may exist (or, in a running batch, is being made)"
_FILTERS = (("all", "All"), ("failed", "Failed"), ("uncertain", "Uncertain"))

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:6px;vertical-align:top;text-align:left}
img{max-width:160px;max-height:160px;border:1px solid #ccc;margin:2px}
.done{color:#176f2c}.failed{color:#b00020}.uncertain,.sent{color:#9a6700}
code{font-size:12px;word-break:break-all}.counts span{margin-right:1em}
nav button{margin-right:.5em;padding:.3em .8em}nav button[aria-pressed=true]{font-weight:bold}
"""

# Filters by the row's data-filter words; the page's #hash picks the filter at load, so a link can share a view.
_SCRIPT = """
function show(filter){
  document.querySelectorAll('tr.item').forEach(function(row){
    row.hidden = filter !== 'all' && row.dataset.filter.split(' ').indexOf(filter) < 0;
  });
  document.querySelectorAll('nav button').forEach(function(button){
    button.setAttribute('aria-pressed', String(button.dataset.show === filter));
  });
}
document.querySelectorAll('nav button').forEach(function(button){
  button.addEventListener('click', function(){
    show(button.dataset.show);
    history.replaceState(null, '', '#' + button.dataset.show);
  });
});
show(location.hash.slice(1) || 'all');
"""


def thumbnail(path: Path) -> str | None:
    """A data URI of a small JPEG of the image at ``path``; None when it cannot be read (or Pillow is missing)."""
    try:
        from PIL import Image

        with Image.open(path) as image:
            image.thumbnail((THUMBNAIL, THUMBNAIL))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "JPEG", quality=80)
    except (ImportError, OSError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _local(path: str, base: Path) -> Path:
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return base / candidate


def _image(reference: str, base: Path) -> str:
    """An ``<img>`` of a local image, or the reference as text (URLs are not fetched: the page needs no network)."""
    if "://" not in reference:
        uri = thumbnail(_local(reference, base))
        if uri is not None:
            return f'<img src="{uri}" alt="{html.escape(reference)}" title="{html.escape(reference)}">'
    return f"<code>{html.escape(reference)}</code>"


def _filter_words(item: ItemView) -> str:
    if item.state == "failed":
        return "failed"
    if item.state in ("uncertain", "sent"):
        return "uncertain"
    return item.state.replace(" ", "-")


def _row(item: ItemView, base: Path) -> str:
    inputs = "".join(_image(image, base) for image in item.images) or "-"
    result = _image(item.path, base) if item.path else (f"<code>{html.escape(item.url)}</code>" if item.url else "-")
    seconds = f"{item.seconds:.1f} s" if item.seconds is not None else "-"
    error = html.escape(item.error or (_SENT if item.state == "sent" else ""))
    cells = (
        f"<code>{html.escape(item.key)}</code>",
        html.escape(item.prompt or "-"),
        inputs,
        result,
        f'<span class="{html.escape(item.state.replace(" ", "-"))}">{html.escape(item.state)}</span>',
        seconds,
        f"<code>{html.escape(item.task_id or '-')}</code>",
        error,
    )
    state = html.escape(item.state)
    tds = "".join(f"<td>{cell}</td>" for cell in cells)
    return f'<tr class="item" data-state="{state}" data-filter="{_filter_words(item)}">{tds}</tr>'


def render(view: BatchView, *, base: Path | None = None) -> str:
    """The report page as text.

    Args:
        view: The batch.
        base: The folder relative paths (inputs, results) are read from when not found from the current one;
            defaults to the journal's folder.
    """
    folder = base if base is not None else view.journal.parent
    counts = " ".join(f"<span>{html.escape(state)}: {count}</span>" for state, count in view.counts().items())
    buttons = "".join(f'<button type="button" data-show="{key}">{label}</button>' for key, label in _FILTERS)
    header = "".join(
        f"<th>{name}</th>" for name in ("item", "prompt", "inputs", "result", "state", "time", "task id", "error")
    )
    rows = "\n".join(_row(item, folder) for item in view.items)
    made = datetime.now(timezone.utc).isoformat(timespec="seconds")
    title = html.escape(f"Batch report: {view.journal.name}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<title>{title}</title><style>{_STYLE}</style></head>
<body><h1>{title}</h1>
<p class="counts">{len(view.items)} items: {counts}</p>
<p><small>From {html.escape(str(view.journal))}, made {made}.{_RUNNING if view.running else ""}</small></p>
<nav>{buttons}</nav>
<table><thead><tr>{header}</tr></thead>
<tbody>
{rows}
</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_report(view: BatchView, path: str | os.PathLike[str]) -> Path:
    """Write the report page of ``view`` to ``path`` and return the path."""
    target = Path(path).expanduser()
    target.write_text(render(view), encoding="utf-8")
    return target

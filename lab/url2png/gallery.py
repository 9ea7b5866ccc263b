"""The website bucket's index page: every rendered PNG, newest first, with its source URL.

It is a plain S3 object (``index.html``), so the same page works on the emulator, LocalStack and
AWS's website endpoint; no server-side code runs. Workers rebuild it from the immutable records
under ``gallery/`` (one per job, written when its PNG is uploaded), so two workers publishing at
once can only publish an older complete picture, never a corrupted one; the page carries a
fingerprint of what it lists, and an idle worker republishes when the fingerprint is stale.

Pure: HTML in, HTML out. ``lab.url2png.store.Gallery`` does the S3 calls.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lab.url2png.records import GALLERY_PREFIX

INDEX_KEY = "index.html"
ERROR_KEY = "error.html"
MAX_ENTRIES = 1000  # a page of 1,000 screenshots is already more than a browser wants
_MARKER = re.compile(r'<meta name="lab-gallery" content="([0-9a-f]*)">')


@dataclass(frozen=True)
class Entry:
    job_id: str
    url: str
    rendered_ms: int

    @property
    def png_key(self) -> str:
        return f"{self.job_id}.png"

    def body(self) -> bytes:
        data = {"id": self.job_id, "url": self.url, "rendered_ms": self.rendered_ms}
        return json.dumps(data).encode()


def record_key(job_id: str) -> str:
    return f"{GALLERY_PREFIX}{job_id}.json"


def parse_record(data: bytes) -> Entry | None:
    try:
        fields = json.loads(data)
        return Entry(str(fields["id"]), str(fields["url"]), int(fields["rendered_ms"]))
    except (ValueError, TypeError, KeyError):
        return None


def newest_first(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (-e.rendered_ms, e.job_id))


def fingerprint(entries: Iterable[Entry]) -> str:
    """Changes whenever the set of listed pictures changes (records are never rewritten)."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.job_id):
        digest.update(f"{entry.job_id}\0{entry.rendered_ms}\n".encode())
    return digest.hexdigest()[:32]


def published_fingerprint(page: str) -> str | None:
    match = _MARKER.search(page)
    return match.group(1) if match else None


_STYLE = """
body { font-family: "DejaVu Sans", sans-serif; margin: 2rem; background: #f6f6f4; color: #222; }
h1 { margin: 0 0 .25rem; }
ol.gallery { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1rem; }
li.shot { background: #fff; border: 1px solid #ccc; padding: .5rem; width: 320px; }
li.shot img { display: block; width: 320px; height: auto; background: #ddd; }
li.shot img[data-state="missing"] { height: 200px; }
p.source { margin: .4rem 0 0; overflow-wrap: anywhere; font-size: .85rem; }
p.when { margin: .2rem 0 0; color: #666; font-size: .75rem; }
"""


def render_index(entries: Sequence[Entry], title: str = "URL2PNG") -> str:
    """The gallery page. Each image reports whether it loaded (``data-state``), which shows a
    missing PNG at a glance and lets a headless browser test prove that the images arrived."""
    shown = newest_first(entries)[:MAX_ENTRIES]
    items = "\n".join(_item(entry) for entry in shown)
    count = len(entries)
    summary = (
        f"{count} picture{'s' if count != 1 else ''}, newest first"
        + (f" (the newest {MAX_ENTRIES} shown)" if count > MAX_ENTRIES else "")
        if count
        else "No pictures yet: submit a URL with <code>lab url2png submit URL</code>."
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="lab-gallery" content="{fingerprint(entries)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p class="summary">{summary}</p>
<ol class="gallery">
{items}
</ol>
</body></html>
"""


def _item(entry: Entry) -> str:
    png = html.escape(entry.png_key, quote=True)
    url = html.escape(entry.url, quote=True)
    when = datetime.fromtimestamp(entry.rendered_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    source = (
        f'<a href="{url}" rel="nofollow noopener noreferrer">{url}</a>'
        if entry.url.lower().startswith(("http://", "https://"))
        else url
    )
    return (
        f'<li class="shot" id="job-{html.escape(entry.job_id, quote=True)}">'
        f'<a href="{png}"><img src="{png}" alt="Screenshot of {url}" '
        "onload=\"this.dataset.state='loaded'\" onerror=\"this.dataset.state='missing'\"></a>"
        f'<p class="source">{source}</p>'
        f'<p class="when"><time datetime="{when}Z">{when} UTC</time></p></li>'
    )


ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found</title></head>
<body style="font-family: sans-serif; margin: 2rem">
<h1>Not here (yet)</h1>
<p>If you just submitted this picture, a worker may still be rendering it: try again in a few
seconds, or ask <code>lab url2png status ID</code>.</p>
<p><a href="index.html">All pictures</a></p>
</body></html>
"""

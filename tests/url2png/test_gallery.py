"""The gallery page: pure rendering, then publishing and converging in the emulator's S3."""

from __future__ import annotations

from lab.url2png import gallery as gal
from lab.url2png.store import Gallery
from tests.url2png.conftest import LabCloud


def test_newest_first_with_escaped_sources() -> None:
    entries = [
        gal.Entry("old", "http://127.0.0.1/a?x=1&y=2", 1_000),
        gal.Entry("new", 'http://127.0.0.1/"><script>alert(1)</script>', 3_000),
        gal.Entry("mid", "javascript:alert(1)", 2_000),
    ]
    page = gal.render_index(entries)
    assert page.index('id="job-new"') < page.index('id="job-mid"') < page.index('id="job-old"')
    assert "<script>alert" not in page
    assert 'href="http://127.0.0.1/a?x=1&amp;y=2"' in page
    assert 'href="javascript:' not in page  # shown, never linked
    assert "3 pictures, newest first" in page
    assert gal.published_fingerprint(page) == gal.fingerprint(reversed(entries))
    assert "No pictures yet" in gal.render_index([])


def test_publish_and_converge(cloud: LabCloud) -> None:
    s3, bucket = cloud.s3, cloud.resources.bucket
    page = s3.get_object(Bucket=bucket, Key="index.html")
    assert page["ContentType"].startswith("text/html")
    assert b"No pictures yet" in page["Body"].read()
    one, two = Gallery(s3, bucket), Gallery(s3, bucket)  # two workers
    assert one.add(gal.Entry("a1", "http://127.0.0.1/1", 1_000))
    assert not two.add(gal.Entry("a1", "http://127.0.0.1/other", 9_000))  # records are immutable
    one.publish()
    assert two.add(gal.Entry("b2", "http://127.0.0.1/2", 2_000))
    assert two.converge()  # index lists a1 only: republish
    assert not one.converge()
    html = s3.get_object(Bucket=bucket, Key="index.html")["Body"].read().decode()
    assert html.index("b2.png") < html.index("a1.png")
    assert "http://127.0.0.1/other" not in html
    grants = s3.get_object_acl(Bucket=bucket, Key="index.html")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)

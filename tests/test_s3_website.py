"""The S3 website endpoint (http://BUCKET.s3-website.localhost:PORT), as a browser sees it.

Python's resolver may not resolve ``*.localhost``, so requests go to 127.0.0.1 with the website
Host header, exactly what a browser sends; one test drives real headless Chromium by name."""

from __future__ import annotations

import http.client
import json
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.support.browser import dump_dom
from tests.support.waiting import wait_until

if TYPE_CHECKING:
    from tests.support.emulator import EmulatorProcess

CHROMIUM = "/usr/bin/chromium"


@dataclass
class Page:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def fetch(
    emulator: EmulatorProcess,
    bucket: str,
    path: str = "/",
    method: str = "GET",
    headers: dict[str, str] | None = None,
    host_form: str = "s3-website",
) -> Page:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        all_headers = {"Host": f"{bucket}.{host_form}.localhost:{emulator.port}", **(headers or {})}
        conn.request(method, path, headers=all_headers)
        response = conn.getresponse()
        return Page(response.status, response.headers, response.read())
    finally:
        conn.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def site(emulator: EmulatorProcess) -> str:
    """A bucket set up like the chapter's, plus the odd cases a student runs into."""
    s3 = emulator.client("s3")
    bucket = unique("site")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_website(
        Bucket=bucket,
        WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "error.html"},
            "RoutingRules": [
                {
                    "Condition": {"KeyPrefixEquals": "docs/"},
                    "Redirect": {"ReplaceKeyPrefixWith": "documents/"},
                },
                {
                    "Condition": {"HttpErrorCodeReturnedEquals": "404", "KeyPrefixEquals": "old/"},
                    "Redirect": {"HostName": "example.com", "HttpRedirectCode": "307"},
                },
                {
                    # an empty replacement strips the prefix: archive/x -> /x
                    "Condition": {"KeyPrefixEquals": "archive/"},
                    "Redirect": {"ReplaceKeyPrefixWith": ""},
                },
            ],
        },
    )

    def put(key: str, body: bytes, content_type: str, public: bool = True, **extra: str) -> None:
        acl = {"ACL": "public-read"} if public else {}
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **acl, **extra)

    put("index.html", b"<h1>home page</h1>", "text/html")
    put("error.html", b"<h1>custom error page</h1>", "text/html")
    put("style.css", b"body{color:red}", "text/css", CacheControl="max-age=60")
    put("shot.png", b"\x89PNG\r\n\x1a\nfake", "image/png")
    put("photos/index.html", b"<h1>photo album</h1>", "text/html")
    put("fotos/\u00fcber.html", "<p>\u00fcber</p>".encode(), "text/html; charset=utf-8")
    put("private.html", b"<h1>top secret</h1>", "text/html", public=False)
    put("moved.html", b"", "text/html", WebsiteRedirectLocation="/index.html")
    put("relocated/index.html", b"", "text/html", WebsiteRedirectLocation="/photos/")
    put("page.html", b"<p>page</p>", "text/html")
    return bucket


def test_root_serves_the_index_document(emulator, site):
    page = fetch(emulator, site, "/")
    assert page.status == 200
    assert page.body == b"<h1>home page</h1>"
    assert page.headers["Content-Type"] == "text/html"
    assert page.headers["ETag"].startswith('"')


def test_objects_keep_their_stored_content_type_and_headers(emulator, site):
    css = fetch(emulator, site, "/style.css")
    assert (css.status, css.headers["Content-Type"], css.body) == (
        200,
        "text/css",
        b"body{color:red}",
    )
    assert css.headers["Cache-Control"] == "max-age=60"
    png = fetch(emulator, site, "/shot.png")
    assert png.headers["Content-Type"] == "image/png"
    assert png.body == b"\x89PNG\r\n\x1a\nfake"


def test_folder_with_slash_serves_its_index_and_without_slash_redirects(emulator, site):
    folder = fetch(emulator, site, "/photos/")
    assert (folder.status, folder.body) == (200, b"<h1>photo album</h1>")
    redirect = fetch(emulator, site, "/photos")
    assert redirect.status == 302
    assert redirect.headers["Location"] == "/photos/"


def test_missing_key_gets_the_error_document_with_status_404(emulator, site):
    """CustomErrorDocSupport.html: the error document is returned with the 404. It is sent as
    the object it is: its own Content-Type, ETag and Last-Modified, and the original error in
    x-amz-error-code / -message / -detail-Key (what AWS sends; see aws-behaviour.md 6.3)."""
    stored = emulator.client("s3").head_object(Bucket=site, Key="error.html")
    page = fetch(emulator, site, "/no/such/page.html")
    assert page.status == 404
    assert page.body == b"<h1>custom error page</h1>"
    assert page.headers["Content-Type"] == "text/html"
    assert page.headers["ETag"] == stored["ETag"]
    assert (
        page.headers["Last-Modified"] == stored["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    )
    assert page.headers["Content-Length"] == str(len(b"<h1>custom error page</h1>"))
    assert page.headers["x-amz-error-code"] == "NoSuchKey"
    assert page.headers["x-amz-error-message"] == "The specified key does not exist."
    assert page.headers["x-amz-error-detail-Key"] == "no/such/page.html"


def test_private_object_is_refused_with_403_and_never_shown(emulator, site):
    """CustomErrorDocSupport.html: 403 for an object that is not publicly readable, with the
    error document (and its ETag) under the 403."""
    page = fetch(emulator, site, "/private.html")
    assert page.status == 403
    assert b"top secret" not in page.body
    assert page.body == b"<h1>custom error page</h1>"
    assert page.headers["ETag"] == fetch(emulator, site, "/error.html").headers["ETag"]
    assert page.headers["x-amz-error-code"] == "AccessDenied"
    assert "x-amz-error-detail-Key" not in page.headers


def test_head_of_a_missing_key_tells_the_error_in_headers_without_the_error_document(
    emulator, site
):
    """A HEAD is answered with the status and x-amz-error-* headers; AWS does not read the
    error document for it, so none of its headers (ETag, Last-Modified) are sent."""
    page = fetch(emulator, site, "/no/such/page.html", method="HEAD")
    assert (page.status, page.body) == (404, b"")
    assert page.headers["x-amz-error-code"] == "NoSuchKey"
    assert page.headers["x-amz-error-detail-Key"] == "no/such/page.html"
    assert "ETag" not in page.headers and "Last-Modified" not in page.headers


def test_error_detail_header_percent_encodes_what_a_header_cannot_carry(emulator, site):
    """Our choice, not AWS-verified: the key is echoed in a header, so anything but printable
    ASCII in it (a tab, non-ASCII, a CR/LF) is percent-encoded and cannot split the headers."""
    page = fetch(emulator, site, "/fotos/%C3%BCbel%09tab.html")
    assert page.status == 404
    assert page.headers["x-amz-error-detail-Key"] == "fotos/%C3%BCbel%09tab.html"
    assert fetch(emulator, site, "/").status == 200


def test_percent_encoded_unicode_keys_are_served(emulator, site):
    page = fetch(emulator, site, "/fotos/%C3%BCber.html")
    assert page.status == 200
    assert page.text == "<p>\u00fcber</p>"


def test_head_gives_the_headers_of_get_without_a_body(emulator, site):
    page = fetch(emulator, site, "/shot.png", method="HEAD")
    assert page.status == 200
    assert page.body == b""
    assert page.headers["Content-Type"] == "image/png"
    assert page.headers["Content-Length"] == str(len(b"\x89PNG\r\n\x1a\nfake"))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_methods_other_than_get_and_head_are_405_and_change_nothing(emulator, site, method):
    page = fetch(emulator, site, "/index.html", method=method)
    assert page.status == 405
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<Error>" not in page.text and "MethodNotAllowed" in page.text
    assert fetch(emulator, site, "/index.html").body == b"<h1>home page</h1>"


def test_website_redirect_location_metadata_is_a_301(emulator, site):
    page = fetch(emulator, site, "/moved.html")
    assert page.status == 301
    assert page.headers["Location"] == "/index.html"


def test_index_document_with_a_website_redirect_location_is_a_301(emulator, site):
    """how-to-page-redirect.html: an object with x-amz-website-redirect-location is a 301 on
    the website endpoint, the index document of a folder included."""
    page = fetch(emulator, site, "/relocated/")
    assert (page.status, page.body) == (301, b"")
    assert page.headers["Location"] == "/photos/"
    # without the slash, the folder redirect comes first (IndexDocumentSupport.html)
    folder = fetch(emulator, site, "/relocated")
    assert (folder.status, folder.headers["Location"]) == (302, "/relocated/")


def test_root_index_and_error_document_with_a_redirect_location_redirect(emulator):
    """how-to-page-redirect.html: the website interprets an object with a website redirect
    location as a 301, whether it is served as the index document or as the error document."""
    s3 = emulator.client("s3")
    bucket = unique("moved")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_website(
        Bucket=bucket,
        WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "error.html"},
        },
    )
    for key, location in (("index.html", "https://example.com/"), ("error.html", "/sorry.html")):
        s3.put_object(
            Bucket=bucket, Key=key, Body=b"", ACL="public-read", WebsiteRedirectLocation=location
        )
    home = fetch(emulator, bucket, "/")
    assert (home.status, home.headers["Location"]) == (301, "https://example.com/")
    missing = fetch(emulator, bucket, "/missing.html")
    assert (missing.status, missing.headers["Location"], missing.body) == (301, "/sorry.html", b"")
    # a private error document is not served, so its redirect is not followed either
    s3.put_object_acl(Bucket=bucket, Key="error.html", ACL="private")
    private = fetch(emulator, bucket, "/missing.html")
    assert private.status == 404 and "Location" not in private.headers


def test_conditional_get_with_matching_etag_is_304_without_body(emulator, site):
    first = fetch(emulator, site, "/style.css")
    etag = first.headers["ETag"]
    again = fetch(emulator, site, "/style.css", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.body == b""
    changed = fetch(emulator, site, "/style.css", headers={"If-None-Match": '"other"'})
    assert changed.status == 200
    later = fetch(
        emulator, site, "/style.css", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert later.status == 304


def test_regional_website_host_names_work(emulator, site):
    for form in ("s3-website-us-east-1", "s3-website.us-east-1"):
        page = fetch(emulator, site, "/", host_form=form)
        assert (page.status, page.body) == (200, b"<h1>home page</h1>"), form


def test_routing_rules_redirect_prefixes_and_errors(emulator, site):
    renamed = fetch(emulator, site, "/docs/guide.html")
    assert renamed.status == 301
    assert renamed.headers["Location"].endswith("/documents/guide.html")
    gone = fetch(emulator, site, "/old/page.html")
    assert gone.status == 307
    assert gone.headers["Location"] == "http://example.com/old/page.html"


def follow(emulator: EmulatorProcess, bucket: str, path: str, limit: int = 5) -> list[Page]:
    """The answers a browser sees following redirects on the website host, at most ``limit``."""
    pages = [fetch(emulator, bucket, path)]
    while pages[-1].status in (301, 302, 307) and len(pages) <= limit:
        target = urlsplit(pages[-1].headers["Location"])
        host = target.netloc or f"{bucket}.s3-website.localhost:{emulator.port}"
        assert host == f"{bucket}.s3-website.localhost:{emulator.port}", host
        pages.append(fetch(emulator, bucket, target.path or "/"))
    return pages


def s3_rule_of(emulator: EmulatorProcess, bucket: str, prefix: str) -> dict[str, str]:
    """The Redirect of the bucket's rule for ``prefix``, as GetBucketWebsite gives it back."""
    rules = emulator.client("s3").get_bucket_website(Bucket=bucket)["RoutingRules"]
    return next(r["Redirect"] for r in rules if r["Condition"].get("KeyPrefixEquals") == prefix)


def test_empty_replace_key_prefix_with_strips_the_prefix_once(emulator, site):
    """how-to-page-redirect.html (RoutingRules): ReplaceKeyPrefixWith replaces the matched
    KeyPrefixEquals; empty, it removes it (the empty-string rule Terraform's
    aws_s3_bucket_website_configuration documents), so archive/page.html is sent to /page.html
    once and then served. A missing ReplaceKeyPrefixWith keeps the key (the old/ rule above)."""
    assert s3_rule_of(emulator, site, "archive/") == {"ReplaceKeyPrefixWith": ""}
    pages = follow(emulator, site, "/archive/page.html")
    assert [p.status for p in pages] == [301, 200]
    assert urlsplit(pages[0].headers["Location"]).path == "/page.html"
    assert pages[-1].body == b"<p>page</p>"
    folder = follow(emulator, site, "/archive/")
    assert [p.status for p in folder] == [301, 200]
    assert urlsplit(folder[0].headers["Location"]).path == "/"
    assert folder[-1].body == b"<h1>home page</h1>"


@pytest.mark.parametrize("suffix", ["pages/index.html", "/index.html", ""])
def test_put_bucket_website_refuses_an_index_suffix_that_is_not_a_file_name(emulator, suffix):
    """API_IndexDocument.html: "The suffix must not be empty and must not include a slash
    character"; AWS answers 400 InvalidArgument "The IndexDocument Suffix is not well formed",
    and the configuration the bucket had stays."""
    s3 = emulator.client("s3")
    bucket = unique("suffix")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_website(
            Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": suffix}}
        )
    error = refused.value.response["Error"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (error["Code"], error["Message"]) == (
        "InvalidArgument",
        "The IndexDocument Suffix is not well formed",
    )
    assert error["ArgumentName"] == "IndexDocument"
    assert error.get("ArgumentValue") == (suffix or None)
    assert s3.get_bucket_website(Bucket=bucket)["IndexDocument"] == {"Suffix": "index.html"}


INDEX_HTML = {"Suffix": "index.html"}
TO_DOCUMENTS = {
    "Condition": {"KeyPrefixEquals": "docs/"},
    "Redirect": {"ReplaceKeyPrefixWith": "d/"},
}
MALFORMED = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)
# (configuration, code, message, ArgumentName, ArgumentValue) as AWS answered it
REFUSED_WEBSITE_CONFIGURATIONS = {
    "redirect-all-with-index": (
        {"RedirectAllRequestsTo": {"HostName": "test"}, "IndexDocument": {"Suffix": "/index.html"}},
        "InvalidArgument",
        "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
        "RedirectAllRequestsTo",
        "not null",
    ),
    "redirect-all-with-rules": (
        {"RedirectAllRequestsTo": {"HostName": "test"}, "RoutingRules": [TO_DOCUMENTS]},
        "InvalidArgument",
        "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
        "RedirectAllRequestsTo",
        "not null",
    ),
    "error-document-alone": (
        {"ErrorDocument": {"Key": "/index.html"}},
        "InvalidArgument",
        "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
        "IndexDocument",
        "null",
    ),
    "rule-protocol": (
        {"IndexDocument": INDEX_HTML, "RoutingRules": [{"Redirect": {"Protocol": "protocol"}}]},
        "InvalidRequest",
        "Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically.",
        None,
        None,
    ),
    "both-replace-keys": (
        {
            "IndexDocument": INDEX_HTML,
            "RoutingRules": [
                {"Redirect": {"ReplaceKeyPrefixWith": "prefix", "ReplaceKeyWith": "key-name"}}
            ],
        },
        "InvalidRequest",
        "You can only define ReplaceKeyPrefix or ReplaceKey but not both.",
        None,
        None,
    ),
    "empty-condition": (
        {
            "IndexDocument": INDEX_HTML,
            "RoutingRules": [{"Redirect": {"ReplaceKeyPrefixWith": "prefix"}, "Condition": {}}],
        },
        "InvalidRequest",
        "Condition cannot be empty. To redirect all requests without a condition, the condition element shouldn't be present.",
        None,
        None,
    ),
    "empty-routing-rules": (
        {"IndexDocument": INDEX_HTML, "RoutingRules": []},
        "MalformedXML",
        MALFORMED,
        None,
        None,
    ),
    "51-routing-rules": (
        {"IndexDocument": INDEX_HTML, "RoutingRules": [TO_DOCUMENTS] * 51},
        "InvalidRequest",
        "51 routing rules provided, the number of routing rules in a website configuration is limited to 50.",
        None,
        None,
    ),
    "redirect-code-314": (
        {
            "IndexDocument": INDEX_HTML,
            "RoutingRules": [{"Redirect": {"HostName": "example.com", "HttpRedirectCode": "314"}}],
        },
        "InvalidRequest",
        "The provided HTTP redirect code (314) is not valid. Valid codes are 3XX except 300.",
        None,
        None,
    ),
}


@pytest.mark.parametrize("case", REFUSED_WEBSITE_CONFIGURATIONS)
def test_put_bucket_website_refuses_what_aws_refuses_and_keeps_the_old_configuration(
    emulator, case
):
    """AWS's answers recorded on AWS in LocalStack's test_s3.snapshot.json
    (TestS3StaticWebsiteHosting::test_validate_website_configuration, invalid-website-conf-2 to
    -7) and ceph/s3-tests test_s3_website.py (redirect code 314); the 51-rule answer as quoted
    from AWS in ceph/ceph pull request 23429 (API_PutBucketWebsite: at most 50 routing rules).
    RedirectAllRequestsTo with RoutingRules only: API_WebsiteConfiguration, "you can't specify
    any other property". A refused PUT changes nothing: GetBucketWebsite gives the old one."""
    config, code, message, argument_name, argument_value = REFUSED_WEBSITE_CONFIGURATIONS[case]
    s3 = emulator.client("s3")
    bucket = unique("refused")
    s3.create_bucket(Bucket=bucket)
    before = {"IndexDocument": INDEX_HTML, "RoutingRules": [TO_DOCUMENTS]}
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=before)
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=config)
    error = refused.value.response["Error"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (error["Code"], error["Message"]) == (code, message)
    assert (error.get("ArgumentName"), error.get("ArgumentValue")) == (
        argument_name,
        argument_value,
    )
    kept = s3.get_bucket_website(Bucket=bucket)
    assert (kept["IndexDocument"], kept["RoutingRules"]) == (INDEX_HTML, [TO_DOCUMENTS])
    assert "RedirectAllRequestsTo" not in kept


def test_put_bucket_website_still_takes_what_aws_takes(emulator):
    """API_PutBucketWebsite: up to 50 routing rules; ceph/s3-tests VALID_AMZ_REDIRECT: AWS
    redirects with 301, 302, 303, 304, 305, 307 and 308. RedirectAllRequestsTo alone needs no
    index document (API_PutBucketWebsite)."""
    s3 = emulator.client("s3")
    bucket = unique("taken")
    s3.create_bucket(Bucket=bucket)
    rules = [
        {
            "Condition": {"KeyPrefixEquals": f"r{n}/"},
            "Redirect": {"HttpRedirectCode": str([301, 302, 303, 304, 305, 307, 308][n % 7])},
        }
        for n in range(50)
    ]
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"IndexDocument": INDEX_HTML, "RoutingRules": rules}
    )
    assert s3.get_bucket_website(Bucket=bucket)["RoutingRules"] == rules
    redirect_all = {"HostName": "example.com", "Protocol": "https"}
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"RedirectAllRequestsTo": redirect_all}
    )
    assert s3.get_bucket_website(Bucket=bucket)["RedirectAllRequestsTo"] == redirect_all


def test_unknown_bucket_is_404_no_such_bucket_in_html(emulator):
    page = fetch(emulator, unique("nobody"), "/")
    assert page.status == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "NoSuchBucket" in page.text
    assert not page.text.lstrip().startswith("<?xml")


def test_bucket_without_website_configuration_is_404(emulator):
    s3 = emulator.client("s3")
    bucket = unique("plain")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"hi", ACL="public-read")
    page = fetch(emulator, bucket, "/")
    assert page.status == 404
    assert "NoSuchWebsiteConfiguration" in page.text


def test_deleting_the_website_configuration_stops_the_site(emulator):
    s3 = emulator.client("s3")
    bucket = unique("gone")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"hi", ACL="public-read")
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    assert fetch(emulator, bucket, "/").status == 200
    s3.delete_bucket_website(Bucket=bucket)
    assert fetch(emulator, bucket, "/").status == 404


def test_without_error_document_s3_explains_the_error_in_html(emulator):
    s3 = emulator.client("s3")
    bucket = unique("bare")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    page = fetch(emulator, bucket, "/missing.html")
    assert page.status == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "NoSuchKey" in page.text and "missing.html" in page.text
    # The index document itself is missing too: "/" is a 404, not a listing.
    assert fetch(emulator, bucket, "/").status == 404


def test_missing_error_document_is_reported_on_the_error_page(emulator):
    s3 = emulator.client("s3")
    bucket = unique("noerr")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_website(
        Bucket=bucket,
        WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "error.html"},
        },
    )
    page = fetch(emulator, bucket, "/nothing")
    assert page.status == 404
    assert "Custom Error Document" in page.text


def test_block_public_access_ignore_public_acls_refuses_public_objects(emulator):
    s3 = emulator.client("s3")
    bucket = unique("bpa")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"hi", ACL="public-read")
    assert fetch(emulator, bucket, "/").status == 200
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    assert fetch(emulator, bucket, "/").status == 403
    s3.delete_public_access_block(Bucket=bucket)
    assert fetch(emulator, bucket, "/").status == 200


def test_bucket_policy_for_everyone_makes_private_objects_public(emulator):
    """The 2023+ way of publishing a site: no ACLs, a bucket policy granting s3:GetObject."""
    s3 = emulator.client("s3")
    bucket = unique("policy")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"via policy", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="internal/notes.html", Body=b"no", ContentType="text/html")
    assert fetch(emulator, bucket, "/").status == 403
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            },
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/internal/*",
            },
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    page = fetch(emulator, bucket, "/")
    assert (page.status, page.body) == (200, b"via policy")
    assert fetch(emulator, bucket, "/internal/notes.html").status == 403
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )
    assert fetch(emulator, bucket, "/").status == 403


def test_path_traversal_cannot_reach_other_buckets_or_private_objects(emulator, site):
    s3 = emulator.client("s3")
    other = unique("other")
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=other, Key="secret.html", Body=b"other bucket secret", ACL="public-read")
    for path in (
        f"/../{other}/secret.html",
        f"/%2e%2e/{other}/secret.html",
        "/photos/../private.html",
        "/photos/%2E%2E/private.html",
        "/..%2f..%2fetc/passwd",
    ):
        page = fetch(emulator, site, path)
        assert page.status in (403, 404), path
        assert b"secret" not in page.body, path
    assert fetch(emulator, site, "/").status == 200


def test_very_long_paths_are_refused_and_the_server_keeps_serving(emulator, site):
    long_key = fetch(emulator, site, "/" + "a" * 2000)
    assert long_key.status == 400
    assert long_key.headers["Content-Type"].startswith("text/html")
    huge = fetch(emulator, site, "/" + "b" * 20000)
    assert huge.status in (400, 414, 431)
    assert fetch(emulator, site, "/").status == 200


def server_still_holds(port: int, clients: set[int]) -> bool:
    """Whether the server on ``port`` still holds a connection from one of the ``clients``
    ports: its side is ESTABLISHED (01) or CLOSE_WAIT (08) in Linux's /proc/net/tcp."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        if (
            int(local.rsplit(":", 1)[1], 16) == port
            and int(remote.rsplit(":", 1)[1], 16) in clients
            and state in ("01", "08")
        ):
            return True
    return False


def test_half_closed_and_abandoned_connections_do_not_hurt_the_server(emulator, site):
    host = f"{site}.s3-website.localhost:{emulator.port}"
    clients: set[int] = set()
    # A client that sends half a request and vanishes.
    with socket.create_connection(("127.0.0.1", emulator.port)) as sock:
        clients.add(sock.getsockname()[1])
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n".encode())
    # A client that sends a request, closes its sending side, and never reads the answer.
    with socket.create_connection(("127.0.0.1", emulator.port)) as sock:
        clients.add(sock.getsockname()[1])
        sock.sendall(f"GET /shot.png HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        sock.shutdown(socket.SHUT_WR)
    # A client that stalls mid-body of a request with a declared length.
    with socket.create_connection(("127.0.0.1", emulator.port)) as sock:
        clients.add(sock.getsockname()[1])
        sock.sendall(f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1000\r\n\r\nab".encode())
        sock.shutdown(socket.SHUT_WR)
    # the server has dealt with all three (and let their connections go) before it is asked again
    wait_until(lambda: not server_still_holds(emulator.port, clients), 5, 0.02)
    assert fetch(emulator, site, "/").status == 200


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")
def test_real_browser_loads_the_site_by_its_website_host_name(emulator, site, tmp_path):
    """Chromium resolves *.localhost to loopback itself, so this is the URL a student types."""
    url = f"http://{site}.s3-website.localhost:{emulator.port}/photos/"
    dom = dump_dom(url, tmp_path / "profile")
    assert "<h1>photo album</h1>" in dom

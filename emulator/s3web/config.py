"""The bucket website configuration, read from the XML document PutBucketWebsite stored.

moto keeps the request body as it arrived, so this is the one place that understands it; the rest
of ``s3web`` works on the parsed dataclasses and never sees XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


@dataclass(frozen=True)
class Redirect:
    """Where a routing rule (or RedirectAllRequestsTo) sends the browser; None = keep as is."""

    protocol: str | None = None
    host_name: str | None = None
    replace_key_prefix_with: str | None = None
    replace_key_with: str | None = None
    http_redirect_code: str | None = None


@dataclass(frozen=True)
class RoutingRule:
    key_prefix_equals: str | None
    http_error_code_returned_equals: str | None
    redirect: Redirect


@dataclass(frozen=True)
class WebsiteConfig:
    index_suffix: str | None = None
    error_key: str | None = None
    redirect_all: Redirect | None = None
    routing_rules: tuple[RoutingRule, ...] = ()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element | None, name: str) -> ET.Element | None:
    if element is None:
        return None
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _text(element: ET.Element | None, *path: str) -> str | None:
    for name in path:
        element = _child(element, name)
    if element is None or element.text is None:
        return None
    return element.text.strip()


def _redirect(element: ET.Element | None) -> Redirect:
    return Redirect(
        protocol=_text(element, "Protocol"),
        host_name=_text(element, "HostName"),
        replace_key_prefix_with=_text(element, "ReplaceKeyPrefixWith"),
        replace_key_with=_text(element, "ReplaceKeyWith"),
        http_redirect_code=_text(element, "HttpRedirectCode"),
    )


def parse_website_config(document: bytes | str) -> WebsiteConfig:
    """Raises ValueError for a document that is not a WebsiteConfiguration, so a broken stored
    configuration reads as "no website" instead of failing every request."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise ValueError(f"website configuration is not XML: {exc}") from exc
    if _local(root.tag) != "WebsiteConfiguration":
        raise ValueError(f"unexpected root element {_local(root.tag)!r}")
    redirect_all = _child(root, "RedirectAllRequestsTo")
    rules: list[RoutingRule] = []
    rules_element = _child(root, "RoutingRules")
    for rule in list(rules_element) if rules_element is not None else []:
        if _local(rule.tag) != "RoutingRule":
            continue
        rules.append(
            RoutingRule(
                key_prefix_equals=_text(rule, "Condition", "KeyPrefixEquals"),
                http_error_code_returned_equals=_text(
                    rule, "Condition", "HttpErrorCodeReturnedEquals"
                ),
                redirect=_redirect(_child(rule, "Redirect")),
            )
        )
    return WebsiteConfig(
        index_suffix=_text(root, "IndexDocument", "Suffix") or None,
        error_key=_text(root, "ErrorDocument", "Key") or None,
        redirect_all=_redirect(redirect_all) if redirect_all is not None else None,
        routing_rules=tuple(rules),
    )

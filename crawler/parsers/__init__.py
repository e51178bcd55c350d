"""Pure page parsers: a Scrapy response in, items / next pages / seen URLs out."""

from crawler.parsers.base import PageStructureError, ParseContext, Parser, ParseResult
from crawler.parsers.router import (
    PARSERS,
    UnroutableUrlError,
    build_response,
    parse_response,
    route,
)

__all__ = [
    "PARSERS",
    "PageStructureError",
    "ParseContext",
    "ParseResult",
    "Parser",
    "UnroutableUrlError",
    "build_response",
    "parse_response",
    "route",
]

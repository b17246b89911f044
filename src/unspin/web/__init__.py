"""The HTTP API and the web page (`unspin serve`): a thin shell over `unspin.api`."""

from unspin.web.app import create_app

__all__ = ["create_app"]

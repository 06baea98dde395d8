"""``fama serve``: the façade over HTTP/JSON with an OpenAPI 3.1 document, for any language.

* :mod:`~fama_adapters.http.app`: the FastAPI application (routes, problems, audit);
* :mod:`~fama_adapters.http.tokens`: bearer tokens, hashed, bound to an agency and a role;
* :mod:`~fama_adapters.http.audit`: the access audit, apart from application logs;
* :mod:`~fama_adapters.http.limits`: body-size and time limits, request ids;
* :mod:`~fama_adapters.http.plugin`: the ``serve``, ``tokens`` and ``openapi`` commands.

Only :mod:`~fama_adapters.http.tokens` and the plugin load without the
``serve`` extra (FastAPI, uvicorn); the service is started with ``fama serve``.
See ``docs/http-api.md``.
"""

__all__: list[str] = []

"""The service: ``circuit serve DIR`` — an HTTP API, Server-Sent Events and a live page over a folder.

Needs the ``serve`` extra (FastAPI, uvicorn, sse-starlette); nothing here is
imported unless the service is started.
"""

"""Throughput and latency of the event pipeline on real parts: a benchmark, not a test.

Run it with ``make bench-pipeline`` (``uv run --frozen python benchmarks/pipeline.py --help`` for
the options). One run starts a Kafka broker (deploy/kafka), the local OpenID Connect provider
(deploy/oidc) and the services as their own processes, all on free ports and in a temp directory,
and measures, side by side:

* ``relay``: the raw aiokafka relay rate on the same broker (consume, produce, commit per batch),
  the ceiling any consuming service is compared with;
* ``drain``: each consuming service alone draining a pre-loaded input topic;
* ``e2e``: exception report at ingest to alert on notification's stream, idle and under load;
* ``ingest``: ingest's write path, single returns and (where the route exists) bulk requests;
* ``replay``: one consumer re-reading every topic from the beginning into a read model.

The modules: ``stack`` (the processes and the Kafka reads the measures share), ``workload``
(valid events and returns, built with the services' own domain code), ``kafka_measures``
(relay, replay), ``drains``, ``e2e``, ``ingest``, ``report`` and ``cli``.
"""

"""The delivery room: documents out to the broker, never lost.

What it holds: the wire contract (`wire`: one pydantic model per published
document, their parsing and JSON Schema), the documents built from the
detector's figures (`alert_document`), topic names (`topics`), the durable
outbox and its writer thread (`outbox`, `outbox_writer`), the MQTT session over
paho-mqtt's public API and its error classification (`mqtt_session`,
`mqtt_errors`, `mqtt_diagnosis`), the delivery queue and the publisher that
drains it (`delivery_queue`, `publisher`), and the last published level per
zone (`published_levels`).

What it may import: the standard library, paho-mqtt, pydantic, structlog, settings
and detection. What it must never import: the service, the tools, the simulator
(`tests/test_architecture.py`).
"""

-- hullwatch archive schema, version 1 (docs/fleet.md "The archive").
--
-- Applied by `hullwatch archive` at every start: every statement is idempotent
-- (IF NOT EXISTS, CREATE OR REPLACE), so a newer archiver upgrades in place.
-- Times are timestamptz (UTC on the wire, ISO 8601 with milliseconds).
-- Every table that receives documents has a natural key, and the archiver
-- inserts with ON CONFLICT DO NOTHING: a message the broker delivers twice
-- (at-least-once) is stored once.

CREATE TABLE IF NOT EXISTS archive_schema (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO archive_schema (version) VALUES (1) ON CONFLICT DO NOTHING;

-- P/S/zones/<zone>/alert (QoS 1): one row per alert document, keyed by its event_id.
CREATE TABLE IF NOT EXISTS alert (
    event_id uuid PRIMARY KEY,
    station text NOT NULL,
    zone text NOT NULL,
    seq bigint NOT NULL,
    kind text NOT NULL,                 -- level_change | update
    level text NOT NULL,                -- ok | warning | critical
    previous_level text NOT NULL,
    time timestamptz NOT NULL,          -- the daemon's wall clock at publication
    received_at timestamptz NOT NULL,   -- when the archiver took it from the broker
    pressure_pa double precision,
    temperature_c double precision,
    dpdt_pa_per_s double precision,
    dpdt_stderr_pa_per_s double precision,
    leak_rate_pa_m3_per_s double precision,
    leak_rate_sccm double precision,
    leak_rate_kg_per_day double precision,
    hole_diameter_mm double precision,
    reserve_time_s double precision,
    reason text,
    document jsonb NOT NULL             -- the whole document as published
);
CREATE INDEX IF NOT EXISTS alert_station_zone_time ON alert (station, zone, time);
CREATE INDEX IF NOT EXISTS alert_time ON alert (time);

-- P/S/zones/<zone>/telemetry (QoS 0, every telemetry_interval_s): narrow on purpose,
-- it is most of the rows (docs/fleet.md "Scale").
CREATE TABLE IF NOT EXISTS telemetry (
    station text NOT NULL,
    zone text NOT NULL,
    time timestamptz NOT NULL,
    pressure_pa double precision NOT NULL,
    temperature_c double precision NOT NULL,
    dpdt_pa_per_s double precision,
    dpdt_stderr_pa_per_s double precision,
    level text NOT NULL,
    window_fill real NOT NULL,
    PRIMARY KEY (station, zone, time)
);
CREATE INDEX IF NOT EXISTS telemetry_time ON telemetry (time);

-- P/S/sensors/<sensor>/health (QoS 1, on every change).
CREATE TABLE IF NOT EXISTS sensor_health (
    station text NOT NULL,
    sensor text NOT NULL,
    zone text NOT NULL,
    health text NOT NULL,               -- ok | degraded | failed
    reason text,
    since timestamptz NOT NULL,
    time timestamptz NOT NULL,
    samples_taken bigint NOT NULL,
    samples_accepted bigint NOT NULL,
    PRIMARY KEY (station, sensor, time)
);

-- P/S/status (`online` / `offline`, QoS 1): every change as it arrived.
CREATE TABLE IF NOT EXISTS station_status (
    station text NOT NULL,
    status text NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS station_status_station_time ON station_status (station, received_at);

-- One row per station ever heard from: its latest status, when anything last arrived
-- from it, and its latest delivery report (P/S/delivery, docs/delivery.md).
CREATE TABLE IF NOT EXISTS station (
    station text PRIMARY KEY,
    status text,
    status_at timestamptz,
    last_seen_at timestamptz NOT NULL,
    delivery jsonb
);

-- Whatever could not be stored as a document: not JSON, a wrong or missing field, a
-- topic the archive does not know, a station writing under another's name. Kept
-- whole (payload as bytes) with the reason, so nothing is lost silently.
CREATE TABLE IF NOT EXISTS rejected (
    id bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL,
    topic text NOT NULL,
    station text,                       -- from the topic, when it names one
    payload bytea NOT NULL,
    reason text NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_received_at ON rejected (received_at);

-- ---------------------------------------------------------------- views

-- The zones whose latest alert is not `ok`: what needs a person now.
CREATE OR REPLACE VIEW open_alerts AS
SELECT station, zone, level, previous_level, time AS since_or_updated, seq,
       leak_rate_sccm, leak_rate_kg_per_day, hole_diameter_mm, reserve_time_s, reason, event_id
FROM (
    SELECT a.*, row_number() OVER (PARTITION BY station, zone ORDER BY seq DESC, time DESC) AS n
    FROM alert a
) latest
WHERE n = 1 AND level <> 'ok';

-- Leak-rate history of every zone: each alert's estimate with its standard error, in
-- time order. `WHERE station = 'lab-3' AND zone = 'chamber'` picks one zone.
CREATE OR REPLACE VIEW zone_leak_rate_history AS
SELECT station, zone, time, level, kind, seq,
       dpdt_pa_per_s, dpdt_stderr_pa_per_s,
       leak_rate_pa_m3_per_s, leak_rate_sccm, leak_rate_kg_per_day,
       (document ->> 'leak_rate_stderr_sccm')::double precision AS leak_rate_stderr_sccm,
       hole_diameter_mm, reserve_time_s
FROM alert;

-- Stations that said `offline` (a clean stop or the broker's last will), or from
-- which nothing arrived for 5 minutes (five times the longest default period of
-- what a running daemon publishes: telemetry every second, alert updates every 10 s).
CREATE OR REPLACE VIEW stations_offline AS
SELECT station, status, status_at, last_seen_at, now() - last_seen_at AS silent_for
FROM station
WHERE status = 'offline' OR last_seen_at < now() - interval '5 minutes';

-- Per UTC day and station: alerts by level, the worst leak, telemetry points, the
-- lowest pressure seen, and documents rejected.
CREATE OR REPLACE VIEW daily_summary AS
WITH alerts AS (
    SELECT date_trunc('day', time AT TIME ZONE 'UTC')::date AS day, station,
           count(*) AS alerts,
           count(*) FILTER (WHERE kind = 'level_change' AND level = 'warning') AS warnings_raised,
           count(*) FILTER (WHERE kind = 'level_change' AND level = 'critical') AS criticals_raised,
           max(leak_rate_sccm) AS max_leak_rate_sccm
    FROM alert GROUP BY 1, 2
), points AS (
    SELECT date_trunc('day', time AT TIME ZONE 'UTC')::date AS day, station,
           count(*) AS telemetry_points, min(pressure_pa) AS min_pressure_pa
    FROM telemetry GROUP BY 1, 2
), bad AS (
    SELECT date_trunc('day', received_at AT TIME ZONE 'UTC')::date AS day,
           coalesce(station, '') AS station, count(*) AS rejected
    FROM rejected GROUP BY 1, 2
)
SELECT day, station,
       coalesce(alerts.alerts, 0) AS alerts,
       coalesce(alerts.warnings_raised, 0) AS warnings_raised,
       coalesce(alerts.criticals_raised, 0) AS criticals_raised,
       alerts.max_leak_rate_sccm,
       coalesce(points.telemetry_points, 0) AS telemetry_points,
       points.min_pressure_pa,
       coalesce(bad.rejected, 0) AS rejected
FROM alerts
FULL JOIN points USING (day, station)
FULL JOIN bad USING (day, station);

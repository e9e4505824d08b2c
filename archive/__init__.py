"""The fleet archive: alerts, health and telemetry from a central broker into PostgreSQL
(`hullwatch archive`, docs/fleet.md)."""

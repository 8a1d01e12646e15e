DROP TABLE IF EXISTS area_outline;

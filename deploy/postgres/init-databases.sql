-- One database per service (docker-compose's PostgreSQL runs this once, on first start).
CREATE DATABASE ingest;
CREATE DATABASE metrics;
CREATE DATABASE segmentation;
CREATE DATABASE support_coordination;
CREATE DATABASE notification;

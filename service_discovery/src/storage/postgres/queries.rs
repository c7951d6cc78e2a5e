//! The statements the backend runs, one per storage call. Names are matched
//! with `lower(name) = lower($1)`, the expression the unique index is built
//! on, so every lookup by name is an index lookup.

/// Is the schema at least at the version this build needs (`$1`)?
pub const SCHEMA_IS_CURRENT: &str = "\
SELECT EXISTS (SELECT FROM schema_migrations WHERE version >= $1)";

/// The named ports of service `s` as one JSON object, `{}` when it has none.
macro_rules! named_ports_of_s {
    () => {
        "coalesce(
            (SELECT jsonb_object_agg(p.name, jsonb_build_object('protocol', p.protocol, 'port', p.port))
             FROM named_ports p WHERE p.service_id = s.id),
            '{}'::jsonb)"
    };
}

pub const GET_SERVICE: &str = concat!(
    "SELECT s.name, s.attributes, ",
    named_ports_of_s!(),
    " FROM services s WHERE lower(s.name) = lower($1)"
);

/// Sorted byte-wise (`COLLATE "C"`), whatever the database's locale.
pub const LIST_SERVICES: &str = concat!(
    "SELECT s.name, s.attributes, ",
    named_ports_of_s!(),
    r#" FROM services s ORDER BY s.name COLLATE "C""#
);

/// Inserts the service and its ports in one statement; answers the new id.
/// `$3`, `$4`, `$5`: port names, protocols and numbers, in matching order.
pub const CREATE_SERVICE: &str = "\
WITH service AS (
    INSERT INTO services (name, attributes) VALUES ($1, $2) RETURNING id
), ports AS (
    INSERT INTO named_ports (service_id, name, protocol, port)
    SELECT service.id, p.name, p.protocol, p.port
    FROM service, unnest($3::text[], $4::text[], $5::integer[]) AS p (name, protocol, port)
)
SELECT id FROM service";

/// Adds or replaces ports and touches the service's `updated_at`; answers
/// one row if the service exists, none otherwise.
pub const ADD_NAMED_PORTS: &str = "\
WITH service AS (
    UPDATE services SET updated_at = now() WHERE lower(name) = lower($1) RETURNING id
), ports AS (
    INSERT INTO named_ports (service_id, name, protocol, port)
    SELECT service.id, p.name, p.protocol, p.port
    FROM service, unnest($2::text[], $3::text[], $4::integer[]) AS p (name, protocol, port)
    ON CONFLICT (service_id, name)
    DO UPDATE SET protocol = excluded.protocol, port = excluded.port
)
SELECT id FROM service";

/// Registers `$2` with tags `$3`, replacing the tags of an address already
/// registered; affects no row when the service does not exist.
pub const REGISTER_ENDPOINT: &str = "\
INSERT INTO endpoints (service_id, ip, tags)
SELECT id, $2, $3 FROM services WHERE lower(name) = lower($1)
ON CONFLICT (service_id, ip) DO UPDATE SET tags = excluded.tags";

/// No row: no such service. One row with a NULL address: a service without
/// endpoints. Otherwise one row per endpoint, in registration order.
pub const LOOKUP_ENDPOINTS: &str = "\
SELECT e.ip, e.tags
FROM services s LEFT JOIN endpoints e ON e.service_id = s.id
WHERE lower(s.name) = lower($1)
ORDER BY e.position";

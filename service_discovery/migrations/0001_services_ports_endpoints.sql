-- Services with their attributes, the named ports they listen on and the
-- addresses (endpoints) registered for them. Deleting a service deletes its
-- ports and endpoints with it.

CREATE TABLE services (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- One DNS label. The application lower-cases names; the unique index
    -- below makes the database refuse "WebApp" next to "webapp" anyway.
    name        text        NOT NULL CHECK (name <> '' AND length(name) <= 63),
    -- A flat JSON object of strings, as the API accepts it.
    attributes  jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every lookup filters on lower(name), so this index serves them all.
CREATE UNIQUE INDEX services_name_key ON services (lower(name));
CREATE INDEX services_attributes_idx ON services USING gin (attributes);

CREATE TABLE named_ports (
    service_id  uuid    NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    name        text    NOT NULL CHECK (name <> ''),
    protocol    text    NOT NULL CHECK (protocol IN ('tcp', 'udp')),
    -- integer, not smallint: ports go up to 65535.
    port        integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    PRIMARY KEY (service_id, name)
);

CREATE TABLE endpoints (
    service_id  uuid        NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    ip          inet        NOT NULL CHECK (masklen(ip) = CASE family(ip) WHEN 4 THEN 32 ELSE 128 END),
    tags        text[]      NOT NULL DEFAULT '{}',
    -- Registration order, which lookups answer in. Registering an address
    -- again updates its row and keeps its place.
    position    bigint      GENERATED ALWAYS AS IDENTITY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, ip)
);

CREATE INDEX endpoints_tags_idx ON endpoints USING gin (tags);

-- The production shop database for the PostgreSQL tests: personal data in
-- customers (name, email UNIQUE, phone, birth date, a jsonb profile with
-- personal keys, tags text[]), orders that reference customers by id AND by
-- email, payments (IBAN), order_items, products (impersonal). Deterministic
-- (no random()); psql -v n=N sets the number of customers (orders: 2N).
-- Also: a sequence with a non-trivial value, indexes (one on an expression),
-- a trigger and a view.
\set ON_ERROR_STOP 1
BEGIN;
CREATE TABLE products (
    id serial PRIMARY KEY,
    name text NOT NULL,
    price numeric(10,2) NOT NULL);
CREATE TABLE customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    phone text,
    birth_date date,
    profile jsonb,
    tags text[],
    vip boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00');
CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers(id),
    customer_email text REFERENCES customers(email),
    amount numeric(12,2) NOT NULL,
    card_last4 text,
    placed_at timestamptz NOT NULL,
    updated_at timestamptz);
CREATE TABLE order_items (
    id serial PRIMARY KEY,
    order_id integer NOT NULL REFERENCES orders(id),
    product_id integer NOT NULL REFERENCES products(id),
    qty integer NOT NULL CHECK (qty > 0),
    price numeric(10,2) NOT NULL);
CREATE TABLE payments (
    id serial PRIMARY KEY,
    order_id integer NOT NULL UNIQUE REFERENCES orders(id),
    iban text,
    amount numeric(12,2) NOT NULL,
    paid_at timestamptz);
CREATE SEQUENCE invoice_no START 1000;
CREATE INDEX orders_by_customer ON orders (customer_id);
CREATE INDEX customers_email_lower ON customers (lower(email));
CREATE VIEW order_emails AS
    SELECT o.id, c.email, o.amount FROM orders o JOIN customers c ON c.id = o.customer_id;
CREATE FUNCTION touch_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := '2030-01-01 00:00:00+00';
    RETURN NEW;
END $$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch_order();

INSERT INTO products (name, price)
    SELECT 'Gadget model ' || i, 1.99 + i FROM generate_series(1, 20) i;

-- distinctive first names, surnames and cities, so a leak is easy to see
CREATE TEMP TABLE words AS SELECT
    ARRAY['Lieselotte', 'Bartholomew', 'Quirina', 'Evander', 'Ottilie', 'Casimir', 'Philippa', 'Leopold',
          'Wilhelmina', 'Ignatius', 'Rosamund', 'Florentin', 'Henrietta', 'Maximilian', 'Cordelia', 'Severin'] AS f,
    ARRAY['Quackenbush', 'Oberhuber', 'Zwickelmann', 'Featherstonehaugh', 'Wolkenstein', 'Pumpernickel',
          'Haberdasher', 'Kleinschmidt', 'Vanderbilt', 'Rosenkranz', 'Thistlewood', 'Schattenberg'] AS l,
    ARRAY['Quedlinburg', 'Wolfenbuettel', 'Tuttlingen', 'Bad Muenstereifel', 'Zweibruecken', 'Oberammergau'] AS c;

INSERT INTO customers (id, name, email, phone, birth_date, profile, tags, vip)
SELECT i,
       w.f || ' ' || w.l,
       lower(w.f) || '.' || lower(w.l) || i || '@mailbox-' || (i % 7) || '.example.org',
       '+49 151 ' || lpad(((i * 7919) % 10000)::text, 4, '0') || ' ' || lpad(i::text, 4, '0'),
       date '1940-01-01' + (i * 137) % 20000,
       jsonb_build_object(
           'email', 'private.' || lower(w.l) || i || '@privatpost-' || (i % 5) || '.example.net',
           'address', jsonb_build_object('city', w.c, 'street', (i % 97 + 1) || ' Kastanienallee'),
           'newsletter', i % 2 = 0,
           'plan', (ARRAY['free', 'pro', 'team'])[1 + i % 3]),
       ARRAY['segment-' || (i % 4), CASE WHEN i % 3 = 0 THEN 'b2b' ELSE 'b2c' END],
       i % 10 = 0
FROM generate_series(1, :n) i, words ws,
     LATERAL (SELECT ws.f[1 + (i * 7) % 16] AS f, ws.l[1 + (i * 11) % 12] AS l, ws.c[1 + i % 6] AS c) w;
SELECT setval('customers_id_seq', :n);

INSERT INTO orders (id, customer_id, customer_email, amount, card_last4, placed_at)
SELECT o, c.id, c.email, ((o * 4391) % 100000) / 100.0 + 1, lpad(((o * 7331) % 10000)::text, 4, '0'),
       timestamptz '2026-01-01 12:00:00+00' + o * interval '37 minutes'
FROM generate_series(1, 2 * :n) o JOIN customers c ON c.id = 1 + (o * 13) % :n;
SELECT setval('orders_id_seq', 2 * :n);

INSERT INTO order_items (order_id, product_id, qty, price)
SELECT o, 1 + (o * k) % 20, 1 + (o + k) % 4, 1.99 + (o * k) % 20
FROM generate_series(1, 2 * :n) o, generate_series(1, 2) k;

INSERT INTO payments (order_id, iban, amount, paid_at)
SELECT o.id,
       -- a German IBAN with valid check digits: 98 - (BBAN || 'DE00') mod 97
       'DE' || lpad((98 - (lpad((o.id * 104729)::text, 18, '0') || '131400')::numeric % 97)::text, 2, '0')
            || lpad((o.id * 104729)::text, 18, '0'),
       o.amount, o.placed_at + interval '5 minutes'
FROM orders o;

SELECT setval('invoice_no', 424242);
COMMIT;
ANALYZE;

#!/usr/bin/env python3
"""Builds a small shop database with personal-looking data, for the masking
tests: customers (name, email UNIQUE, phone, city, postal code, birth date,
IP), orders referencing customers by id AND by email, payments with card
numbers and IBANs, products (impersonal names). WAL mode, like a live app.

usage: shopdb.py PATH [N_CUSTOMERS]   (prints nothing; deterministic)"""
import random
import sqlite3
import sys

FIRST = ["Lieselotte", "Bartholomew", "Quirina", "Evander", "Ottilie", "Casimir", "Philippa", "Leopold",
         "Wilhelmina", "Ignatius", "Rosamund", "Florentin", "Henrietta", "Maximilian", "Cordelia", "Severin"]
LAST = ["Quackenbush", "Oberhuber", "Zwickelmann", "Featherstonehaugh", "Wolkenstein", "Pumpernickel",
        "Haberdasher", "Kleinschmidt", "Vanderbilt", "Rosenkranz", "Thistlewood", "Schattenberg"]
CITY = ["Quedlinburg", "Wolfenbuettel", "Tuttlingen", "Bad Muenstereifel", "Zweibruecken", "Oberammergau"]


def luhn_digit(payload):
    s = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        s += d
    return str((10 - s % 10) % 10)


def iban(rng):
    bban = "".join(rng.choice("0123456789") for _ in range(18))
    num = int("".join(str(int(c, 36)) for c in bban + "DE00"))
    return "DE%02d%s" % (98 - num % 97, bban)


def main():
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rng = random.Random(20261129)
    db = sqlite3.connect(path)
    db.executescript("""
    PRAGMA journal_mode=WAL;
    PRAGMA foreign_keys=ON;
    CREATE TABLE customers (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, phone TEXT,
        city TEXT, postal_code TEXT, birth_date TEXT, last_ip TEXT, vip INTEGER DEFAULT 0);
    CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL);
    CREATE TABLE orders (
        id INTEGER PRIMARY KEY AUTOINCREMENT, customer_id INTEGER NOT NULL REFERENCES customers(id),
        customer_email TEXT REFERENCES customers(email), product_id INTEGER REFERENCES products(id),
        ship_address TEXT, placed_at TEXT);
    CREATE TABLE payments (
        order_id INTEGER PRIMARY KEY REFERENCES orders(id), card TEXT, iban TEXT, amount_cents INTEGER);
    CREATE INDEX orders_by_customer ON orders(customer_id);
    CREATE VIEW order_emails AS SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id;
    CREATE TRIGGER vip_on_big AFTER INSERT ON payments WHEN NEW.amount_cents > 100000
        BEGIN UPDATE customers SET vip = 1 WHERE id = (SELECT customer_id FROM orders WHERE id = NEW.order_id); END;
    """)
    for i in range(1, 21):
        db.execute("INSERT INTO products VALUES (?, ?, ?)", (i, "Gadget model %d" % i, 100 * i + 99))
    for i in range(1, n + 1):
        f, l = rng.choice(FIRST), rng.choice(LAST)
        db.execute("INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,0)", (
            i, "%s %s" % (f, l), "%s.%s%d@mailbox-%d.example.org" % (f.lower(), l.lower(), i, i % 7),
            "+49 151 %04d %04d" % (rng.randrange(10000), i), rng.choice(CITY), "%05d" % rng.randrange(1000, 99999),
            "19%02d-%02d-%02d" % (rng.randrange(40, 99), rng.randrange(1, 13), rng.randrange(1, 29)),
            "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))))
    for o in range(1, 2 * n + 1):
        c = rng.randrange(1, n + 1)
        email = db.execute("SELECT email FROM customers WHERE id = ?", (c,)).fetchone()[0]
        db.execute("INSERT INTO orders (customer_id, customer_email, product_id, ship_address, placed_at) "
                   "VALUES (?,?,?,?,?)", (c, email, rng.randrange(1, 21),
                                          "%d Kastanienallee %s" % (rng.randrange(1, 200), rng.choice(CITY)),
                                          "2026-%02d-%02d 12:00:00" % (rng.randrange(1, 13), rng.randrange(1, 29))))
        payload = "4" + "".join(rng.choice("0123456789") for _ in range(14))
        db.execute("INSERT INTO payments VALUES (?,?,?,?)",
                   (o, payload + luhn_digit(payload), iban(rng), rng.randrange(500, 200000)))
    db.commit()
    db.close()


if __name__ == "__main__":
    main()

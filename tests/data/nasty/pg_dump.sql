--
-- PostgreSQL database dump
--
SET statement_timeout = 0;
\connect leaks
CREATE TABLE public.customers (
    id integer NOT NULL,
    name text,
    phone character varying(20),
    note text
);
COPY public.customers (id, name, phone, note) FROM stdin;
1	Rahul Sharma	9812345678	likes; semicolons and 'quotes'
2	Priya Patel	\N	tab\there
3	Anil Kumar	+91 98123 45670	line\nbreak
\.
SELECT pg_catalog.setval('public.customers_id_seq', 3, true);

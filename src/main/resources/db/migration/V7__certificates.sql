-- Certificates stored once for the whole cluster (PUT /v1/certificates/{name}); every edge with a TLS listener
-- serves them. The private key is sealed (AES-256-GCM under a key derived from the cluster credentials, see
-- io.ceiba.tls.CertificateVault) and never leaves the control API in the clear. Expand-only: a new table.
create table certificates (
  name        text        primary key,
  cert_pem    text        not null,
  key_sealed  text        not null,
  dns_names   text[]      not null,
  issuer      text        not null,
  not_after   timestamptz not null,
  updated_at  timestamptz not null default now()
);

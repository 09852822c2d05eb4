-- Signing keys at rest: the private key is kept only sealed under the key-encryption key
-- (AUTH_KEK): private_box holds a random 24-byte nonce and libsodium's crypto_secretbox of the
-- PEM, kek_id the id of the KEK that sealed it. strata-auth seals the rows left in clear at
-- start-up and sets their private_pem to NULL; the column stays (always NULL from then on)
-- until a later migration drops it, once no older auth can be running.
ALTER TABLE auth.signing_keys
	ADD COLUMN private_box bytea,
	ADD COLUMN kek_id      text,
	ALTER COLUMN private_pem DROP NOT NULL;

-- Each row holds its private key one way, and a sealed one says which KEK sealed it.
ALTER TABLE auth.signing_keys
	ADD CONSTRAINT signing_keys_private_once CHECK (num_nonnulls(private_pem, private_box) = 1),
	ADD CONSTRAINT signing_keys_kek_named CHECK ((private_box IS NULL) = (kek_id IS NULL));

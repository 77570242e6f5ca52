package auth

import "testing"

func TestSecretsAndPasswords(t *testing.T) {
	s := NewSecret()
	if len(s) < 40 || s == NewSecret() {
		t.Fatalf("NewSecret = %q: too short or not random", s)
	}
	h := HashSecret(s)
	if !CheckSecret(h, s) || CheckSecret(h, s+"x") || CheckSecret(nil, s) || CheckSecret(h, "") {
		t.Fatal("CheckSecret accepts a wrong secret or rejects the right one")
	}
	ph, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if string(ph) == "correct horse" || !CheckPassword(ph, "correct horse") || CheckPassword(ph, "Correct horse") || CheckPassword(nil, "") {
		t.Fatal("CheckPassword accepts a wrong password or rejects the right one")
	}
}

// Command verify checks one dialer-webhooks request: both signatures and the timestamp.
//
//	WEBHOOK_SECRET='whsec_…' go run verify.go headers.json < body
//
// headers.json holds the request's headers as a JSON object; stdin is the raw request body.
// Exit 0 when both signatures verify and the timestamp is fresh, 1 when not, 2 on bad usage.
// Go 1.20 or newer, standard library only.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

const tolerance = 5 * time.Minute

// verifySpecSignature checks X-Webhook-Signature: lowercase hex HMAC-SHA256 of the raw body,
// keyed by the secret string as is.
func verifySpecSignature(body []byte, header, secret string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	expected := hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(expected), []byte(header))
}

// verifyStandardSignature checks webhook-signature (Standard Webhooks): base64 HMAC-SHA256 of
// "<webhook-id>.<webhook-timestamp>.<body>", keyed by the base64-decoded part of the secret after
// "whsec_". During a secret rotation the header holds one "v1,<signature>" per valid secret,
// separated by spaces: one match is enough.
func verifyStandardSignature(body []byte, headers map[string]string, secret string) bool {
	id, timestamp, signatures := headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]
	if id == "" || timestamp == "" || signatures == "" {
		return false
	}
	key := []byte(secret)
	if encoded, ok := strings.CutPrefix(secret, "whsec_"); ok {
		decoded, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(encoded, "="))
		if err != nil {
			return false
		}
		key = decoded
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	expected := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Split(signatures, " ") {
		if value, ok := strings.CutPrefix(sig, "v1,"); ok && hmac.Equal([]byte(expected), []byte(value)) {
			return true
		}
	}
	return false
}

// timestampIsFresh is the replay protection: webhook-timestamp (unix seconds of this attempt)
// within 5 minutes of now.
func timestampIsFresh(headers map[string]string, now time.Time) bool {
	seconds, err := strconv.ParseInt(headers["webhook-timestamp"], 10, 64)
	if err != nil || seconds < 0 {
		return false
	}
	age := now.Sub(time.Unix(seconds, 0))
	return age <= tolerance && age >= -tolerance
}

func main() {
	secret := os.Getenv("WEBHOOK_SECRET")
	if len(os.Args) != 2 || secret == "" {
		fmt.Fprintln(os.Stderr, "usage: WEBHOOK_SECRET='whsec_…' go run verify.go headers.json < body")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var given map[string]string
	if err := json.Unmarshal(raw, &given); err != nil {
		fmt.Fprintln(os.Stderr, "headers.json:", err)
		os.Exit(2)
	}
	// Header names are case-insensitive: look them up in lowercase.
	headers := make(map[string]string, len(given))
	for name, value := range given {
		headers[strings.ToLower(name)] = value
	}
	body, err := io.ReadAll(os.Stdin) // the raw bytes, exactly as received: never a re-serialized object
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	checks := []struct {
		name string
		ok   bool
	}{
		{"X-Webhook-Signature", verifySpecSignature(body, headers["x-webhook-signature"], secret)},
		{"webhook-signature", verifyStandardSignature(body, headers, secret)},
		{"webhook-timestamp within 5 minutes", timestampIsFresh(headers, time.Now())},
	}
	allOK := true
	for _, c := range checks {
		status := "ok  "
		if !c.ok {
			status, allOK = "FAIL", false
		}
		fmt.Printf("%s %s\n", status, c.name)
	}
	if !allOK {
		os.Exit(1)
	}
}

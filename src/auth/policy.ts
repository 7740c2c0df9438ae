/**
 * Password policy: at least 12 characters, at most 256 (Argon2 input stays bounded), not the
 * email or its local part, not one of a small list of common passwords. Returns the reason a
 * password is refused, in words fit for a form field, or null when it is acceptable.
 */
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/** Common passwords of 12+ characters (shorter ones fail the length rule anyway). */
const COMMON = new Set([
  "123456789012",
  "1234567890123",
  "12345678901234",
  "123456789abc",
  "1q2w3e4r5t6y",
  "1qaz2wsx3edc",
  "aaaaaaaaaaaa",
  "abc123456789",
  "abcdefghijkl",
  "administrator",
  "changemechangeme",
  "iloveyou1234",
  "letmein12345",
  "password1234",
  "password12345",
  "password123456",
  "passwordpassword",
  "qwerty123456",
  "qwertyuiopas",
  "qwertyuiop123",
  "qwertyuiop[]",
  "welcome12345",
  "zaq12wsxcde3",
  "backapp12345",
  "backupbackup",
  "correcthorsebatterystaple",
  "trustno1trustno1",
  "football1234",
  "baseball1234",
  "superman1234",
  "monkey123456",
  "dragon123456",
  "sunshine1234",
  "princess1234",
  "111111111111",
  "000000000000",
  "121212121212",
  "987654321098",
]);

export function passwordProblem(password: string, email?: string): string | null {
  // Characters as people count them (code points): "🔑" is one, not two UTF-16 units.
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) {
    return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  }
  if (length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
  const lower = password.toLowerCase();
  if (email) {
    const e = email.trim().toLowerCase();
    const local = e.split("@")[0] ?? "";
    if (lower === e || lower === local) return "The password must not be your email address.";
  }
  if (COMMON.has(lower) || /^(.)\1+$/.test(password)) {
    return "This password is too common; choose another.";
  }
  return null;
}

"""Team channels as a mailer: each channel issue's parts posted to its platform, in order."""

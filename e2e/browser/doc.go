// Package browser holds the browser tests of the web UI (package diag):
// a real headless Chromium clicking through the UI served by a real worker
// and NATS server. The tests are built only with the browser tag, because
// they need Chromium:
//
//	go test -tags browser ./e2e/browser
//
// ./test.sh, the README's full test command, installs Debian's chromium
// when it is missing and runs them.
package browser

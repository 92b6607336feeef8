// Call linkdiff's Ahrefs API v3 with Adobe's published client (@adobe/spacecat-shared-ahrefs-client
// from npm), configured the way its users configure it: AHREFS_API_BASE_URL and AHREFS_API_KEY.
//
// usage: node ahrefs_v3.mjs CLIENT_DIR TARGET_URL
// Prints one JSON object: {"backlinks": {"ok", "rows", "first", "url"} | {"error"},
//                          "broken": the same for getBrokenBacklinks,
//                          "logged": [the client's log lines]}.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [clientDir, target] = process.argv.slice(2);
const entry = path.join(clientDir, 'node_modules/@adobe/spacecat-shared-ahrefs-client/src/index.js');
const { default: AhrefsAPIClient } = await import(pathToFileURL(entry).href);

const logged = [];
const log = {
  info: (m) => logged.push(String(m)),
  error: (m) => logged.push(String(m)),
  warn: (m) => logged.push(String(m)),
  debug: () => {},
};
const client = AhrefsAPIClient.createFrom({ env: process.env, log });

// What one client method answered: its backlinks array's size and first row, and the URL it
// called; or the error it threw.
async function listed(call) {
  try {
    const { result, fullAuditRef } = await call();
    return {
      ok: Array.isArray(result.backlinks),
      rows: (result.backlinks || []).length,
      first: (result.backlinks || [])[0] || null,
      url: fullAuditRef,
    };
  } catch (e) {
    return { error: e.message };
  }
}

const out = { logged };
out.backlinks = await listed(() => client.getBacklinks(target, 1000));
out.broken = await listed(() => client.getBrokenBacklinks(target, 100));
console.log(JSON.stringify(out));

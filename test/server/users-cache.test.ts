import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeUser } from '../../src/cli/serve-commands.js';
import { openDatabase, SqliteUserStore } from '../../src/server/store/sqlite.js';

describe('user lookups are cached and see other connections', () => {
  test('a user added or removed by another connection (the user command) is seen at once', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sipwire-users-')), 'u.db');
    const serverDb = openDatabase(file);
    const server = new SqliteUserStore(serverDb);
    assert.equal(
      await server.get('carol', 'example.test'),
      undefined,
      'not there yet (and the absence is cached)',
    );
    const cliDb = openDatabase(file);
    const cli = new SqliteUserStore(cliDb);
    await cli.put(makeUser('carol@example.test', 'pw'));
    assert.equal((await server.get('carol', 'example.test'))?.username, 'carol', 'added elsewhere: seen');
    await cli.remove('carol', 'example.test');
    assert.equal(await server.get('carol', 'example.test'), undefined, 'removed elsewhere: gone');
    await server.put(makeUser('dave@example.test', 'pw'));
    assert.equal((await server.get('dave', 'example.test'))?.username, 'dave', 'own write: seen');
    await cli.close();
    cliDb.close();
    await server.close();
    serverDb.close();
  });
});

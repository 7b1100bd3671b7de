// TanStack AI's own browser client, unchanged, against a running `reelflow serve`.
//
// Run by tests/web/test_tanstack_client.py, which starts the server and sets:
//   REELFLOW_URL        base URL of the running server (required)
//   REELFLOW_TOKEN      bearer token, when the server has REELFLOW_API_TOKEN set
//   REELFLOW_SERVE_ARGV JSON argv that starts another server (without --port): enables the
//                       restart test, which kills and restarts its own server
//   REELFLOW_LOG_DIR    where that server writes its log
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { openSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { VideoGenerationClient, fetchServerSentEvents } from '@tanstack/ai-client'

const BASE = process.env.REELFLOW_URL
assert.ok(BASE, 'set REELFLOW_URL to the base URL of a running `reelflow serve`')
const AUTH = process.env.REELFLOW_TOKEN
  ? { Authorization: `Bearer ${process.env.REELFLOW_TOKEN}` }
  : {}

// The reconnect setting docs/http-api.md recommends for reelflow: a reelflow run outlives its
// HTTP server, so let the client keep trying through a restart (the default, 5 tries 250 ms
// apart, gives up after ~1.3 s). Only attempts that bring nothing new count toward the limit.
const RECONNECT = { maxAttempts: 60, delayMs: 1000 }

// reelflow extension: poll the provider every 200 ms (ms, like TanStack's own option).
const FAST = { pollingInterval: 200 }

function connection(base = BASE) {
  return fetchServerSentEvents(`${base}/api/generate/video`, {
    headers: AUTH,
    reconnect: RECONNECT,
  })
}

async function until(condition, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await condition()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function jobStatus(jobId, base = BASE) {
  const response = await fetch(`${base}/api/video/jobs/${jobId}`, { headers: AUTH })
  assert.equal(response.status, 200)
  return response.json()
}

async function assertPlayableMp4(url) {
  // No Authorization header, like a <video src>: with auth on, the URL itself is signed.
  const response = await fetch(url)
  assert.equal(response.status, 200)
  assert.equal(response.headers.get('content-type'), 'video/mp4')
  const bytes = new Uint8Array(await response.arrayBuffer())
  assert.equal(Number(response.headers.get('content-length')), bytes.length)
  assert.equal(new TextDecoder().decode(bytes.subarray(4, 8)), 'ftyp')
  const seek = await fetch(url, { headers: { Range: 'bytes=100-199' } })
  assert.equal(seek.status, 206)
  assert.deepEqual(new Uint8Array(await seek.arrayBuffer()), bytes.subarray(100, 200))
}

function assertRisingProgress(statuses) {
  const progress = statuses.map((status) => status.progress)
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b), `progress fell: ${progress}`)
  return progress
}

test('a streamed run sets jobId, rising videoStatus and a playable result', async () => {
  const statuses = []
  const chunks = []
  const client = new VideoGenerationClient({
    connection: connection(),
    body: FAST,
    onVideoStatusChange: (status) => status && statuses.push(status),
    onChunk: (chunk) => chunks.push(chunk),
  })
  await client.generate({ prompt: 'A paper boat crosses a sunlit pond', duration: 8 })

  assert.equal(client.getError(), undefined)
  assert.equal(client.getStatus(), 'success')
  const jobId = client.getJobId()
  assert.match(jobId, /^run[-.]/)
  const progress = assertRisingProgress(statuses)
  assert.equal(progress.at(-1), 100)
  assert.ok(new Set(progress.filter((p) => p > 0 && p < 100)).size >= 2, `${progress}`)
  assert.ok(statuses.some((status) => status.status === 'processing'))
  assert.equal(statuses.at(-1).status, 'completed')

  const result = client.getResult()
  assert.equal(result.jobId, jobId)
  assert.equal(result.status, 'completed')
  await assertPlayableMp4(result.url)
  assert.equal((await jobStatus(jobId)).status, 'completed')

  // joinRun (a page reload): the same run from the start, ending with its result.
  const runId = chunks.find((chunk) => chunk.type === 'RUN_STARTED').runId
  const replay = []
  for await (const chunk of connection().joinRun(runId, new AbortController().signal)) {
    replay.push(chunk.type === 'CUSTOM' ? chunk.name : chunk.type)
  }
  assert.deepEqual(replay, [
    'RUN_STARTED',
    'video:job:created',
    'video:status',
    'generation:result',
    'RUN_FINISHED',
  ])
})

test('a failing prompt sets the client error', async () => {
  const client = new VideoGenerationClient({ connection: connection(), body: FAST })
  await client.generate({ prompt: 'something #moderation worthy' })

  assert.equal(client.getStatus(), 'error')
  assert.ok(client.getError() instanceof Error)
  assert.match(client.getError().message, /moderation/i)
  assert.equal(client.getResult(), null)
  assert.equal((await jobStatus(client.getJobId())).status, 'failed')
})

test('stop() mid-run, then the cancel call, ends the job cancelled', async () => {
  const client = new VideoGenerationClient({ connection: connection(), body: FAST })
  const running = client.generate({ prompt: 'A very long journey by train', duration: 12 })
  await until(() => client.getVideoStatus()?.status === 'processing', 'processing')
  const jobId = client.getJobId()

  client.stop()
  await running
  assert.equal(client.getStatus(), 'idle')
  assert.equal(client.getError(), undefined)

  const cancel = await fetch(`${BASE}/api/video/jobs/${jobId}/cancel`, {
    method: 'POST',
    headers: { ...AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify({ reason: 'the user pressed stop' }),
  })
  assert.equal(cancel.status, 202)
  const ended = await until(async () => {
    const status = await jobStatus(jobId)
    return status.status === 'cancelled' && status
  }, 'the job to be cancelled')
  assert.deepEqual(ended.error, { code: 'cancelled', message: 'the user pressed stop' })
})

test('fetcher mode returns the stored video', async () => {
  const client = new VideoGenerationClient({
    fetcher: async (input, { signal }) => {
      const response = await fetch(`${BASE}/api/video/generate`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...input, ...FAST }),
        signal,
      })
      if (!response.ok) throw new Error((await response.json()).detail)
      return response.json()
    },
  })
  await client.generate({ prompt: 'A lighthouse at dusk' })

  assert.equal(client.getStatus(), 'success')
  const result = client.getResult()
  assert.equal(result.status, 'completed')
  await assertPlayableMp4(result.url)
})

const SERVE_ARGV = process.env.REELFLOW_SERVE_ARGV
  ? JSON.parse(process.env.REELFLOW_SERVE_ARGV)
  : null

async function freePort() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function startServer(port) {
  const log = openSync(join(process.env.REELFLOW_LOG_DIR ?? '.', `serve-${port}.log`), 'a')
  const [command, ...args] = SERVE_ARGV
  const child = spawn(command, [...args, '--port', String(port)], {
    stdio: ['ignore', log, log],
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`reelflow serve exited with ${child.exitCode}`)
    try {
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok
    } catch {
      return false
    }
  }, 'reelflow serve to start')
  return { child, exited }
}

test(
  'a run survives a server restart with the recommended reconnect setting',
  { skip: SERVE_ARGV ? false : 'REELFLOW_SERVE_ARGV not set' },
  async (t) => {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    let server = await startServer(port)
    t.after(() => server.child.kill('SIGTERM'))

    const statuses = []
    const client = new VideoGenerationClient({
      connection: connection(base),
      body: FAST,
      onVideoStatusChange: (status) => status && statuses.push(status),
    })
    const running = client.generate({ prompt: 'A storm over the sea', duration: 12 })
    await until(() => (client.getVideoStatus()?.progress ?? 0) > 0, 'progress')
    const seenBeforeKill = statuses.length

    server.child.kill('SIGKILL')
    await server.exited
    server = await startServer(port)
    await running

    assert.equal(client.getError(), undefined)
    assert.equal(client.getStatus(), 'success')
    assert.ok(statuses.length > seenBeforeKill, 'statuses after the restart')
    assert.equal(assertRisingProgress(statuses).at(-1), 100)
    await assertPlayableMp4(client.getResult().url)
    const status = await jobStatus(client.getJobId(), base)
    assert.equal(status.status, 'completed')
  },
)

// SPDX-License-Identifier: Apache-2.0
/** Bulk TCP between two lab pods, judged by content: what a user's data must survive. */
import { collect, stopChild, waitForOutput } from '../../src/lab/proc.js';
import type { LabPod } from '../../src/lab/pod.js';

/** Sends `bytes` random bytes from `client` to `server` and back; true when both ends hashed the same. */
export async function hashedTransfer(client: LabPod, server: LabPod, port: number, bytes: number): Promise<{ ok: boolean; detail: string }> {
  const srv = server.spawn([process.execPath, '-e', `const net=require('net'),crypto=require('crypto');
const s=net.createServer(c=>{const h=crypto.createHash('sha256');let n=0;c.on('data',d=>{h.update(d);n+=d.length;c.write(d)});
c.on('end',()=>{c.end(JSON.stringify({n,h:h.digest('hex')}).padStart(200));s.close()})});
s.listen(${port},'0.0.0.0',()=>console.log('listening'));`]);
  try {
    await waitForOutput(srv, srv.stdout, /listening/, 10_000);
    const r = await collect(client.spawn([process.execPath, '-e', `const net=require('net'),crypto=require('crypto');
const data=crypto.randomBytes(${bytes});const want=crypto.createHash('sha256').update(data).digest('hex');
const chunks=[];const c=net.connect({host:${JSON.stringify(server.ip)},port:${port}},()=>c.end(data));
c.on('data',d=>chunks.push(d));c.on('end',()=>{const all=Buffer.concat(chunks);const echo=all.subarray(0,${bytes});
const srv=JSON.parse(all.subarray(${bytes}).toString());
console.log(JSON.stringify({echoOk:crypto.createHash('sha256').update(echo).digest('hex')===want,serverOk:srv.h===want&&srv.n===${bytes}}))});
c.on('error',e=>{console.error(e.message);process.exit(1)});`]), 60_000);
    const res = JSON.parse(r.stdout.trim() || '{}') as { echoOk?: boolean; serverOk?: boolean };
    return { ok: res.echoOk === true && res.serverOk === true, detail: `${r.stdout.trim()} ${r.stderr.trim()}` };
  } finally {
    await stopChild(srv);
  }
}


// SPDX-License-Identifier: Apache-2.0
/** --disable-offload: the names, and what each switch asks of the two seams. */
import t from 'tap';
import { OFFLOAD_SWITCHES, offloadChoice, parseOffloadSwitches } from '../../src/dataplane/offload-switches.js';

t.test('parseOffloadSwitches: comma lists and repeats, canonical order, a clear error for a bad name', async (t) => {
  t.same(parseOffloadSwitches([]), []);
  t.same(parseOffloadSwitches(['udp-gso,tso', ' gro ', '', 'tso,']), ['tso', 'gro', 'udp-gso']);
  t.same(parseOffloadSwitches([OFFLOAD_SWITCHES.join(',')]), OFFLOAD_SWITCHES);
  t.throws(() => parseOffloadSwitches(['gro', 'GRO']), { message: 'unknown offload "GRO": want one or more of tso, uso, gro, gro-udp, udp-gro, udp-gso' });
  t.throws(() => parseOffloadSwitches(['csum']), { message: /unknown offload "csum"/ }, 'a log-line name that is no switch');
});

t.test('offloadChoice: each switch turns off its own part only', async (t) => {
  const all = { tun: { offload: true, tso: true, uso: true, gro: true, groUdp: true }, bind: { gro: true, gso: true } };
  t.same(offloadChoice([]), all, 'nothing disabled: everything on');
  t.same(offloadChoice(['tso']).tun, { ...all.tun, tso: false });
  t.same(offloadChoice(['gro']).tun, { ...all.tun, gro: false });
  t.same(offloadChoice(['gro-udp']).tun, { ...all.tun, groUdp: false });
  t.same(offloadChoice(['uso']).tun, { ...all.tun, uso: false, groUdp: false }, 'gro-udp needs uso');
  t.same(offloadChoice(['udp-gro']), { tun: all.tun, bind: { gro: false, gso: true } });
  t.same(offloadChoice(['udp-gso']), { tun: all.tun, bind: { gro: true, gso: false } });
  t.same(offloadChoice(['tso', 'uso', 'gro']).tun, { offload: false, tso: false, uso: false, gro: false, groUdp: false },
    'every TUN part off: no virtio headers at all');
  t.same(offloadChoice(['tso', 'uso', 'gro-udp']).tun.offload, true, 'TCP coalescing alone keeps the virtio header');
  const none = offloadChoice([], false);
  t.same(none, { tun: { offload: false, tso: false, uso: false, gro: false, groUdp: false }, bind: { gro: false, gso: false } }, '--no-offload');
  t.same(offloadChoice(['gro'], false), none, '--no-offload wins over a list');
});

// startMosquitto for tests that may run as root (containers, CI): mosquitto started as root drops to the
// `mosquitto` user, which cannot write the test's own 0700 directory, so its persistence file is never saved
// ("Error saving in-memory database") and a restart loses every session. `user root` keeps it as it was started.
import { type MosquittoOptions, startMosquitto, type TestMosquitto } from './mosquitto.js'

export function startMosquittoAsCurrentUser(options: MosquittoOptions = {}): Promise<TestMosquitto> {
  const asRoot = process.getuid?.() === 0
  return startMosquitto({ ...options, extraConfig: [...(asRoot ? ['user root'] : []), ...(options.extraConfig ?? [])] })
}

// The page the browser interop test opens in Chromium: JsSIP (loaded before
// this script as the global JsSIP) behind a few promise-returning helpers
// that the test calls through the DevTools protocol.
/* global JsSIP */
(() => {
  const media = { audio: true, video: false };
  const pcConfig = { iceServers: [] };
  const state = { ua: null, session: null, messages: [], ended: [] };

  function waitFor(cond, ms, what) {
    return new Promise((resolve, reject) => {
      const end = Date.now() + ms;
      const tick = () => {
        let v;
        try {
          v = cond();
        } catch (e) {
          reject(e);
          return;
        }
        if (v) resolve(v);
        else if (Date.now() > end) reject(new Error(`${what} (waited ${ms} ms)`));
        else setTimeout(tick, 50);
      };
      tick();
    });
  }

  function track(session) {
    state.session = session;
    session.on('ended', (e) => state.ended.push({ originator: e.originator, cause: e.cause }));
    session.on('failed', (e) => state.ended.push({ originator: e.originator, cause: e.cause, failed: true }));
  }

  /** Calls `target` with audio; resolves with 'confirmed', or with how the call failed. */
  function dial(target) {
    return new Promise((resolve) => {
      const session = state.ua.call(target, {
        mediaConstraints: media,
        pcConfig,
        eventHandlers: {
          confirmed: () => resolve('confirmed'),
          failed: (e) =>
            resolve({
              cause: e.cause,
              status: e.message?.status_code ?? null,
              reason: e.message?.reason_phrase ?? null,
            }),
        },
      });
      track(session);
    });
  }

  window.harness = {
    /** Registers `uri` over the WebSocket at `wsUrl`; resolves with the registrar's 200 Contact count. */
    register(wsUrl, uri, password) {
      JsSIP.debug.disable('JsSIP:*');
      const ua = new JsSIP.UA({
        sockets: [new JsSIP.WebSocketInterface(wsUrl)],
        uri,
        password,
        register: true,
        register_expires: 300,
        session_timers: false,
      });
      state.ua = ua;
      ua.on('newMessage', (e) => {
        if (e.originator === 'remote') state.messages.push(e.request.body);
      });
      ua.on('newRTCSession', (e) => {
        if (e.originator !== 'remote') return;
        track(e.session);
        e.session.answer({ mediaConstraints: media, pcConfig });
      });
      return new Promise((resolve, reject) => {
        ua.on('registered', (e) => resolve(e.response.getHeaders('Contact').length));
        ua.on('registrationFailed', (e) => reject(new Error(`registration failed: ${e.cause}`)));
        ua.start();
      });
    },

    /** Sends a MESSAGE; resolves with the final response's status. */
    message(target, text) {
      return new Promise((resolve, reject) => {
        state.ua.sendMessage(target, text, {
          eventHandlers: {
            succeeded: (e) => resolve(e.response.status_code),
            failed: (e) => reject(new Error(`MESSAGE failed: ${e.cause}`)),
          },
        });
      });
    },

    /** The MESSAGE bodies received so far. */
    messages() {
      return state.messages.slice();
    },

    /** Calls `target` with audio; resolves once the call is confirmed (2xx and ACK). */
    async call(target) {
      const outcome = await dial(target);
      if (outcome !== 'confirmed') throw new Error(`call failed: ${outcome.cause}`);
      return outcome;
    },

    /** Calls `target`; resolves with how it failed: JsSIP's cause, the status and reason phrase. */
    async callFails(target) {
      const outcome = await dial(target);
      if (outcome === 'confirmed') throw new Error('the call was answered');
      return outcome;
    },

    /** Waits for the current call to be confirmed (the answering side). */
    confirmed(ms) {
      return waitFor(() => state.session?.isEstablished(), ms, 'call not confirmed').then(() => true);
    },

    /** Waits for RTP to arrive on the current call; resolves with the audio bytes received. */
    async audioReceived(ms) {
      const pc = state.session.connection;
      let bytes = 0;
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const stats = await pc.getStats();
        for (const s of stats.values()) {
          if (s.type === 'inbound-rtp' && s.kind === 'audio') bytes = s.bytesReceived;
        }
        if (bytes > 0) return { bytes, ice: pc.iceConnectionState };
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no audio received in ${ms} ms (ICE ${pc.iceConnectionState})`);
    },

    /** The current call's remote SDP as JsSIP received it. */
    remoteSdp() {
      return state.session.connection.remoteDescription.sdp;
    },

    /** Hangs up the current call; resolves once it ended. */
    hangup() {
      const session = state.session;
      return new Promise((resolve) => {
        session.on('ended', () => resolve(true));
        session.terminate();
      });
    },

    /** How the calls so far ended. */
    ended() {
      return state.ended.slice();
    },

    /** Unregisters and closes the WebSocket. */
    stop() {
      return new Promise((resolve) => {
        if (state.ua === null) {
          resolve(true);
          return;
        }
        state.ua.on('disconnected', () => resolve(true));
        state.ua.stop();
        setTimeout(() => resolve(false), 3000);
      });
    },
  };
})();

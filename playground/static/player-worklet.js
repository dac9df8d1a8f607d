// The agent's voice: a queue of chunks at the server's rate, played at the context's rate.
// "flush" drops everything queued (barge-in); it reports how many samples it played.
class PlayerProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.chunks = [];
    this.offset = 0;
    this.step = 1;
    this.played = 0;
    this.reported = 0;
    this.port.onmessage = (event) => {
      const message = event.data;
      if (message.type === "audio") {
        this.step = message.rate / sampleRate;
        this.chunks.push(message.samples);
      } else if (message.type === "flush") {
        this.chunks = [];
        this.offset = 0;
      }
    };
  }
  process(inputs, outputs) {
    const out = outputs[0][0];
    for (let n = 0; n < out.length; n++) {
      if (!this.chunks.length) { out[n] = 0; continue; }
      const chunk = this.chunks[0];
      out[n] = chunk[Math.floor(this.offset)];
      this.offset += this.step;
      if (this.offset >= chunk.length) {
        this.offset -= chunk.length;
        this.chunks.shift();
        this.played += chunk.length;
      }
    }
    if (this.played !== this.reported) {
      this.reported = this.played;
      this.port.postMessage({ played: this.played, queued: this.chunks.length });
    }
    return true;
  }
}
registerProcessor("player", PlayerProcessor);

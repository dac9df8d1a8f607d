// The microphone, resampled to 16 kHz and cut into 20 ms frames of 16-bit PCM.
class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.rate = 16000;
    this.frame = new Int16Array(320);
    this.filled = 0;
    this.step = sampleRate / this.rate;
    this.position = 0;
  }
  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    while (this.position < input.length) {
      const i = Math.floor(this.position);
      const next = i + 1 < input.length ? input[i + 1] : input[i];
      const value = input[i] + (next - input[i]) * (this.position - i);
      this.frame[this.filled++] = Math.max(-32768, Math.min(32767, Math.round(value * 32767)));
      if (this.filled === this.frame.length) {
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(320);
        this.filled = 0;
      }
      this.position += this.step;
    }
    this.position -= input.length;
    return true;
  }
}
registerProcessor("capture", CaptureProcessor);

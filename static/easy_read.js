// The learner's own pages (web/my_progress.py): "Read it to me" and saying
// your words instead of typing them. Both use the browser's own speech; where
// the browser has none, their buttons stay hidden (the tablet keyboard's own
// dictation still works in the box).
"use strict";

(() => {
  // --- "Read it to me": the page's main text, in the browser's own voice ----------------------
  const SKIP = "button, textarea, input, select, script, style, [hidden], [aria-hidden='true'], [data-no-read]";

  // What the page says, in reading order: text, and what each picture says (its text alternative).
  function pageText(root) {
    const parts = [];
    const walk = (node) => {
      if (node.nodeType === Node.TEXT_NODE) {
        const text = node.textContent.replace(/\s+/g, " ").trim();
        if (text) parts.push(text);
        return;
      }
      if (node.nodeType !== Node.ELEMENT_NODE) return;
      if (node.matches("svg[role='img']")) {
        const title = node.querySelector("title");
        if (title) parts.push(title.textContent.trim());
        return;
      }
      if (node.matches("img[alt]")) {
        if (node.alt.trim()) parts.push(node.alt.trim() + ".");
        return;
      }
      if (node.matches(SKIP)) return;
      const block = getComputedStyle(node).display !== "inline";
      node.childNodes.forEach(walk);
      // A heading, a paragraph, a card: a pause after it.
      if (block && parts.length && !/[.!?:]$/.test(parts[parts.length - 1])) parts[parts.length - 1] += ".";
    };
    walk(root);
    return parts.join(" ");
  }

  // Short pieces, one sentence or so each: some browsers stop a long utterance part way.
  function pieces(text) {
    return (text.match(/[^.!?]+[.!?]*/g) || []).map((s) => s.trim()).filter(Boolean);
  }

  function readAloud(button) {
    const synth = window.speechSynthesis;
    const label = button.querySelector("[data-read-label]");
    const idle = () => {
      button.setAttribute("aria-pressed", "false");
      if (label) label.textContent = "Read it to me";
    };
    idle();
    button.hidden = false;
    button.addEventListener("click", () => {
      if (synth.speaking || synth.pending) {
        synth.cancel();
        idle();
        return;
      }
      const main = document.querySelector("main");
      const said = pieces(pageText(main));
      if (!said.length) return;
      button.setAttribute("aria-pressed", "true");
      if (label) label.textContent = "Stop reading";
      said.forEach((piece, i) => {
        const utterance = new SpeechSynthesisUtterance(piece);
        utterance.lang = document.documentElement.lang || "en-GB";
        utterance.rate = 0.9;
        if (i === said.length - 1) {
          utterance.onend = idle;
          utterance.onerror = idle;
        }
        synth.speak(utterance);
      });
    });
    // Leaving the page stops the voice.
    window.addEventListener("pagehide", () => synth.cancel());
  }

  // --- saying your words: the browser's speech recognition, where it has one --------------------
  function dictation(button) {
    const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
    const box = document.getElementById(button.dataset.dictate);
    const label = button.querySelector("[data-dictate-label]");
    const status = button.parentElement.querySelector("[data-dictate-status]");
    if (!Recognition || !box) return;
    let listening = null;
    const say = (text) => { if (status) status.textContent = text; };
    const stopped = () => {
      listening = null;
      button.setAttribute("aria-pressed", "false");
      if (label) label.textContent = "Speak";
    };
    stopped();
    button.hidden = false;
    button.addEventListener("click", () => {
      if (listening) {
        listening.stop();
        return;
      }
      const recognition = new Recognition();
      recognition.lang = document.documentElement.lang || "en-GB";
      recognition.interimResults = false;
      recognition.continuous = false;
      recognition.maxAlternatives = 1;
      recognition.onresult = (event) => {
        const heard = Array.from(event.results).map((r) => r[0].transcript).join(" ").trim();
        if (heard) {
          box.value = box.value.trim() ? `${box.value.trim()} ${heard}` : heard;
          say("Got it. Check your words, then tap how it went.");
        }
      };
      recognition.onerror = () => say("Sorry, I did not hear that. Try again, or type it.");
      recognition.onend = stopped;
      try {
        recognition.start();
      } catch (e) {
        say("Sorry, I cannot listen just now. You can type it.");
        return;
      }
      listening = recognition;
      button.setAttribute("aria-pressed", "true");
      if (label) label.textContent = "Stop";
      say("Listening. Say your words.");
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if ("speechSynthesis" in window && window.SpeechSynthesisUtterance) {
      document.querySelectorAll("[data-read-aloud]").forEach(readAloud);
    }
    document.querySelectorAll("[data-dictate]").forEach(dictation);
    const summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  });

  // A page brought back by the browser's Back button from its memory (not asked
  // again) might be one the tablet should no longer show: ask the server again.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) location.reload();
  });
})();

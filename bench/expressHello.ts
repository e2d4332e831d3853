/**
 * A reference for cold start: the smallest Express app answering /health, bundled like the
 * services and started by the same command line, to show what Express alone costs at start.
 */
import express from "express";

express()
  .get("/health", (_req, res) => {
    res.json({ status: "ok" });
  })
  .listen(Number(process.env.PORT), process.env.HOST ?? "0.0.0.0");

import { parentPort, workerData } from 'node:worker_threads'
import { proofMaker } from './dpop-proofs.js'

const { key, target, count } = workerData
const make = proofMaker(key, target)
parentPort.postMessage(Array.from({ length: count }, make))

import t from 'tap'
import { CircuitBreaker } from '../../src/revocation/breaker.js'
import { manualClock } from '../helpers/clock.js'
import { until } from '../helpers/until.js'

function clocked (options: { failureThreshold?: number, coolDownMs?: number } = {}): { breaker: CircuitBreaker, advance: (ms: number) => void } {
  const clock = manualClock(0)
  return { breaker: new CircuitBreaker({ ...options, now: clock.now }), advance: clock.advance }
}

t.test('opens after the threshold of consecutive failures, not before', async (t) => {
  const { breaker } = clocked({ failureThreshold: 3 })
  breaker.failure()
  breaker.failure()
  t.equal(breaker.state, 'closed')
  t.ok(breaker.tryAcquire())
  breaker.failure()
  t.equal(breaker.state, 'open')
  t.notOk(breaker.tryAcquire(), 'no call goes through while open')
})

t.test('a success in between resets the count', async (t) => {
  const { breaker } = clocked({ failureThreshold: 2 })
  breaker.failure()
  breaker.success()
  breaker.failure()
  t.equal(breaker.state, 'closed')
})

t.test('after the cool-down exactly one probe goes through', async (t) => {
  const { breaker, advance } = clocked({ failureThreshold: 1, coolDownMs: 1000 })
  breaker.failure()
  advance(999)
  t.equal(breaker.state, 'open')
  advance(1)
  t.equal(breaker.state, 'half_open')
  t.ok(breaker.tryAcquire(), 'the probe')
  t.notOk(breaker.tryAcquire(), 'a second caller is refused while the probe runs')
})

t.test('a successful probe closes it; a failed probe opens it for another cool-down', async (t) => {
  const { breaker, advance } = clocked({ failureThreshold: 1, coolDownMs: 100 })
  breaker.failure()
  advance(100)
  t.ok(breaker.tryAcquire())
  breaker.failure()
  t.equal(breaker.state, 'open')
  advance(50)
  t.equal(breaker.state, 'open', 'the cool-down starts again from the failed probe')
  advance(50)
  t.ok(breaker.tryAcquire())
  breaker.success()
  t.equal(breaker.state, 'closed')
  t.ok(breaker.tryAcquire())
})

t.test('late failures of calls started before it opened do not extend the cool-down', async (t) => {
  const { breaker, advance } = clocked({ failureThreshold: 1, coolDownMs: 100 })
  breaker.failure()
  advance(60)
  breaker.failure()
  advance(40)
  t.equal(breaker.state, 'half_open')
})

t.test('the owner is told when the cool-down is over', async (t) => {
  let told = 0
  const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 20, onHalfOpen: () => { told++ } })
  t.teardown(() => breaker.close())
  breaker.failure()
  t.ok(await until(() => told > 0, 2000))
  t.equal(told, 1)
  t.equal(breaker.state, 'half_open')
})

t.test('options are checked up front', async (t) => {
  t.throws(() => new CircuitBreaker({ failureThreshold: 0 }), /failureThreshold/)
  t.throws(() => new CircuitBreaker({ coolDownMs: -1 }), /coolDownMs/)
})

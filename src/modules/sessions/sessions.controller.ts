import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, StreamableFile } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import QRCode from 'qrcode';
import { CreateSessionDto, PairingCodeDto, PatchSessionDto, SessionNameParam } from './sessions.dto';
import { SessionsService } from './sessions.service';
import { SessionPoolView, SessionView } from './session.view';

@ApiTags('sessions')
@ApiSecurity('api-key')
@Controller('api')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post('sessions')
  @ApiOperation({ summary: 'Create a session (and start it unless start=false)' })
  @ApiCreatedResponse({ type: SessionView })
  @ApiConflictResponse({ description: 'A session with this name exists' })
  create(@Body() body: CreateSessionDto): Promise<SessionView> {
    return this.sessions.create(body);
  }

  @Get('sessions')
  @ApiOperation({ summary: 'List sessions' })
  @ApiOkResponse({ type: [SessionView] })
  list(): Promise<SessionView[]> {
    return this.sessions.list();
  }

  @Get('sessions/:name')
  @ApiOperation({ summary: 'Get one session' })
  @ApiOkResponse({ type: SessionView })
  @ApiNotFoundResponse()
  get(@Param() { name }: SessionNameParam): Promise<SessionView> {
    return this.sessions.get(name);
  }

  @Patch('sessions/:name')
  @ApiOperation({ summary: 'Change the session config (given sections replace stored ones; humanize fields merge)' })
  @ApiOkResponse({ type: SessionView })
  patch(@Param() { name }: SessionNameParam, @Body() body: PatchSessionDto): Promise<SessionView> {
    return this.sessions.patch(name, body.config);
  }

  @Post('sessions/:name/start')
  @HttpCode(202)
  @ApiOperation({ summary: 'Start (idempotent). The session becomes STARTING, SCAN_QR or WORKING, or QUEUED when the pool is full' })
  @ApiAcceptedResponse({ type: SessionView })
  start(@Param() { name }: SessionNameParam): Promise<SessionView> {
    return this.sessions.start(name);
  }

  @Post('sessions/:name/stop')
  @HttpCode(202)
  @ApiOperation({ summary: 'Stop (idempotent): closes the socket, keeps the auth state' })
  @ApiAcceptedResponse({ type: SessionView })
  stop(@Param() { name }: SessionNameParam): Promise<SessionView> {
    return this.sessions.stop(name);
  }

  @Post('sessions/:name/restart')
  @HttpCode(202)
  @ApiOperation({ summary: 'Restart: drop the socket and connect again (stats restart from zero)' })
  @ApiAcceptedResponse({ type: SessionView })
  restart(@Param() { name }: SessionNameParam): Promise<SessionView> {
    return this.sessions.restart(name);
  }

  @Post('sessions/:name/logout')
  @HttpCode(202)
  @ApiOperation({ summary: 'Log out at WhatsApp (unlink the device, connecting with the stored credentials when the session is not connected) and wipe the auth state; the next start needs a new QR. Carried out even if the owning worker misses the request (the wanted action is stored on the session)' })
  @ApiAcceptedResponse({ type: SessionView })
  logout(@Param() { name }: SessionNameParam): Promise<SessionView> {
    return this.sessions.logout(name);
  }

  @Delete('sessions/:name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete: 204 at once, the session is gone for the API and its name is free; a worker then unlinks the device at WhatsApp (also when not connected), removes the auth state and the row' })
  @ApiNoContentResponse()
  async remove(@Param() { name }: SessionNameParam): Promise<void> {
    await this.sessions.delete(name);
  }

  @Get('sessions/:name/qr')
  @ApiOperation({ summary: 'Current pairing QR as JSON, or as a PNG image with "Accept: image/png"; 409 unless SCAN_QR' })
  @ApiProduces('application/json', 'image/png')
  @ApiOkResponse({ schema: { properties: { value: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } } } })
  @ApiConflictResponse({ description: 'The session is not waiting for a QR scan' })
  async qr(@Param() { name }: SessionNameParam, @Headers('accept') accept: string | undefined) {
    const qr = await this.sessions.qr(name);
    if (accept?.includes('image/png')) {
      const png = await QRCode.toBuffer(qr.value, { type: 'png', errorCorrectionLevel: 'L', margin: 2, width: 320 });
      return new StreamableFile(png, { type: 'image/png', length: png.length });
    }
    return qr;
  }

  @Post('sessions/:name/pairing-code')
  @HttpCode(200)
  @ApiOperation({ summary: 'Log in with an 8-character pairing code instead of a QR (the session must be waiting for pairing)' })
  @ApiOkResponse({ schema: { properties: { code: { type: 'string', example: 'ABCD-EFGH' } } } })
  pairingCode(@Param() { name }: SessionNameParam, @Body() body: PairingCodeDto): Promise<{ code: string }> {
    return this.sessions.pairingCode(name, body.phoneNumber);
  }

  @Post('sessions/:name/reconnect')
  @HttpCode(202)
  @ApiOperation({ summary: 'Drop and reconnect now, ignoring the backoff (409 while the circuit is OPEN)' })
  @ApiAcceptedResponse({ type: SessionView })
  reconnect(@Param() { name }: SessionNameParam): Promise<SessionView> {
    return this.sessions.reconnect(name);
  }

  @Post('sessions/:name/circuit/reset')
  @HttpCode(200)
  @ApiOperation({ summary: 'Close the reconnect circuit breaker and zero its failures; a FAILED session gets its trial at once (on any worker with a free slot)' })
  @ApiOkResponse({ type: SessionView })
  resetCircuit(@Param() { name }: SessionNameParam): Promise<SessionView> {
    return this.sessions.resetCircuit(name);
  }

  @Get('pool')
  @ApiOperation({ summary: 'Session pool across workers: active, max, waiting (FIFO order), utilization' })
  @ApiOkResponse({ type: SessionPoolView })
  pool(): Promise<SessionPoolView> {
    return this.sessions.pool();
  }
}

import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ValidationError } from '../../common/errors/domain-errors';
import { isValidPhone } from './network/phone-number';
import type { ContactMessage, ContactPresence, PairingResult } from './network/sandbox-network.types';
import type { SandboxFaults } from './network/faults';
import {
  ContactMessageView,
  ContactPresenceView,
  DisconnectDto,
  DisconnectView,
  FaultsDto,
  FaultsView,
  InboundAcceptedView,
  InboundDto,
  PairingResultView,
  ScanDto,
} from './sandbox.dto';
import { SandboxService } from './sandbox.service';

/**
 * Test controls of the built-in fake WhatsApp network (SANDBOX=true only):
 * play the user's phone and the people a session talks to, break the
 * connection, inject faults.
 */
@ApiTags('sandbox')
@ApiSecurity('api-key')
@Controller('api/sandbox')
export class SandboxController {
  constructor(private readonly sandbox: SandboxService) {}

  @Post('sessions/:name/scan')
  @HttpCode(200)
  @ApiOperation({
    summary: 'A fake phone scans the session\'s current QR code',
    description:
      'Links the session to a WhatsApp account of the sandbox (phone number `phone`, or a fixed one derived from the session name). ' +
      'Answers once the session confirmed the link; it then reconnects by itself and becomes WORKING. ' +
      '404 for an unknown session, 409 when the session has no QR (not in SCAN_QR) or the QR is no longer valid.',
  })
  @ApiParam({ name: 'name', description: 'Session name' })
  @ApiOkResponse({ type: PairingResultView })
  scan(@Param('name') name: string, @Body() body: ScanDto): Promise<PairingResult> {
    return this.sandbox.scan(name, body.phone);
  }

  @Post('inbound')
  @HttpCode(202)
  @ApiOperation({
    summary: 'A fake contact sends the session a message',
    description:
      'The contact `from` (created on first use: every number is a WhatsApp user in the sandbox) sends the account of the session ' +
      'a message over real Signal encryption: `text` (type text, the default), a media file (`media`, with `caption` for image, video ' +
      'and document), which the contact encrypts and uploads to the sandbox media server as WhatsApp does, or a `location`; ' +
      '`replyTo` quotes a message by its WhatsApp id. Type `reaction` (`reaction: {waMessageId, emoji}`) reacts to a message the contact ' +
      'sent or received, `edit` (`edit: {waMessageId, text}`) edits and `revoke` (`revoke: {waMessageId}`) deletes for everyone a message it sent. A paired session that is offline receives it when it reconnects. ' +
      '400 naming each bad field (including fields that do not belong to the type), 404 for a session the sandbox never saw, ' +
      '409 for a session not linked to an account yet.',
  })
  @ApiAcceptedResponse({ type: InboundAcceptedView })
  async inbound(@Body() body: InboundDto): Promise<{ waMessageId: string }> {
    const { session, from, ...message } = body;
    return { waMessageId: await this.sandbox.network.inbound(session, from, message) };
  }

  @Get('contacts/:phone/messages')
  @ApiOperation({
    summary: 'What a fake contact received, in arrival order',
    description: 'Every message the contact received from any session. `[]` for a number that received nothing. The contact sends delivery and read receipts for each.',
  })
  @ApiParam({ name: 'phone', description: 'Phone number: 5 to 20 digits, optionally with a leading +', example: '5511988887777' })
  @ApiOkResponse({ type: [ContactMessageView] })
  messages(@Param('phone') phone: string): ContactMessage[] {
    if (!isValidPhone(phone)) {
      throw new ValidationError('Invalid request: phone', [{ field: 'phone', message: 'must be 5 to 20 digits, optionally with a leading +' }]);
    }
    return this.sandbox.network.contactMessages(phone);
  }

  @Get('contacts/:phone/presences')
  @ApiOperation({
    summary: 'The chat states a fake contact saw, oldest first',
    description: 'composing, paused or recording, as sessions sent them to this contact (a session typing before a message). `[]` when none.',
  })
  @ApiParam({ name: 'phone', description: 'Phone number: 5 to 20 digits, optionally with a leading +', example: '5511988887777' })
  @ApiOkResponse({ type: [ContactPresenceView] })
  presences(@Param('phone') phone: string): ContactPresence[] {
    if (!isValidPhone(phone)) {
      throw new ValidationError('Invalid request: phone', [{ field: 'phone', message: 'must be 5 to 20 digits, optionally with a leading +' }]);
    }
    return this.sandbox.network.contactPresences(phone);
  }

  @Post('sessions/:name/disconnect')
  @HttpCode(200)
  @ApiOperation({
    summary: 'The network drops the session\'s connection with a WhatsApp disconnect code',
    description:
      '401: `<failure reason="401">`, the device is unlinked (Baileys loggedOut; logging in again is refused). ' +
      '428: the server closes the socket (connectionClosed). 440: stream error "conflict" (connectionReplaced). ' +
      '515: stream error 515 (restartRequired). Answers once the socket is closed. 404 for an unknown session, 409 when it is not connected.',
  })
  @ApiParam({ name: 'name', description: 'Session name' })
  @ApiOkResponse({ type: DisconnectView })
  async disconnect(@Param('name') name: string, @Body() body: DisconnectDto): Promise<DisconnectView> {
    await this.sandbox.network.disconnect(name, body.code);
    return { session: name, code: body.code };
  }

  @Put('faults')
  @ApiOperation({
    summary: 'Set the faults of the network (`{}` clears them)',
    description:
      'Replaces the active faults: `latencyMs` delays every frame the network sends, `dropRate` drops that share of relayed messages ' +
      '(after the sender got the server ack; dropped ones are counted and never reach the contact), `refuseConnections` makes new ' +
      'session connections fail at once, `mediaDownloadFailures` makes the next n media downloads answer 503. Answers with the active faults.',
  })
  @ApiOkResponse({ type: FaultsView })
  faults(@Body() body: FaultsDto): SandboxFaults {
    return this.sandbox.network.setFaults({
      ...(body.latencyMs !== undefined ? { latencyMs: body.latencyMs } : {}),
      ...(body.dropRate !== undefined ? { dropRate: body.dropRate } : {}),
      ...(body.refuseConnections !== undefined ? { refuseConnections: body.refuseConnections } : {}),
      ...(body.mediaDownloadFailures !== undefined ? { mediaDownloadFailures: body.mediaDownloadFailures } : {}),
    });
  }
}
